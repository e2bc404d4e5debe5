#pragma once
// Umbrella header for embedders: #include <serialake/serialake.hpp>.
// The engine and dataset handle (thread-safe), and the core types they use.

#include "actors/dataset.hpp"
#include "serialake/error.hpp"
#include "serialake/snapshot.hpp"
#include "core/store.hpp"
#include "serialake/types.hpp"
