#pragma once
// Umbrella header for embedders: #include <serialake/serialake.hpp>.
// The engine and dataset handle (thread-safe), their options and futures,
// snapshots, the data types, errors, and the lock-backend interface.

#include "serialake/dataset.hpp"
#include "serialake/error.hpp"
#include "serialake/future.hpp"
#include "serialake/lock.hpp"
#include "serialake/lock_uri.hpp"
#include "serialake/options.hpp"
#include "serialake/snapshot.hpp"
#include "serialake/types.hpp"
