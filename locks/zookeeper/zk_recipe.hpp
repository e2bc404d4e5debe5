#pragma once
// The znodes of a ZooKeeper lock: kazoo 2.8's lock recipe (kazoo/recipe/lock.py),
// so that kazoo's Lock and WriteLock and serialake exclude each other.
//
//   <lock path>                               persistent, empty; created with its
//                                             parents by the first contender
//   <lock path>/<uuid4 hex>__lock__<seq>      a writer (kazoo Lock, WriteLock, serialake)
//   <lock path>/<uuid4 hex>__rlock__<seq>     a reader (kazoo ReadLock)
//
// <seq> is the 10-digit sequence the server appends (kazoo matches -?\d{10}, a
// wrapped counter is negative). Contenders are ordered by the <seq> text, as
// kazoo sorts its regex groups: the same order for all parties. A contender
// holds the lock when no contender it excludes comes before it; it waits with a
// watch on the nearest such contender before it (its predecessor). serialake
// writers exclude __lock__ and __rlock__, as kazoo's WriteLock does (kazoo's Lock
// excludes only __lock__, so it ignores readers; it still excludes and is
// excluded by every writer). The uuid prefix lets a contender find its own node
// after a create whose reply was lost.
//
// A serialake contender's data is kazoo's `identifier`, here a JSON object
//   {"kind": "writer"|"maintenance", "host": "<host name>", "pid": <pid>}
// which kazoo's Lock.contenders() returns as text. A writer's node is ephemeral
// (it goes with its session: the holder died or was cut off); a maintenance
// lock's is persistent, until `unlock` deletes it. A grant's generation is its
// node's czxid, its "since" the node's ctime. Other parties' data is any text.

#include <zookeeper/zookeeper.h>

#include <optional>
#include <string>
#include <vector>

#include "serialake/lock.hpp"

namespace serialake::zk {

/// A child of the lock path that is a contender.
struct contender {
  std::string name;  ///< the child's name
  std::string seq;   ///< its sequence text, the sort key
};

/// "<uuid4 hex>__lock__": the name a new writer contender is created with.
std::string new_node_prefix();

/// The contenders among `children` (names), in lock order.
std::vector<contender> contenders(const std::vector<std::string>& children);

/// Where `self` stands among `sorted`: nullopt if it is not there (its node is
/// gone), an empty string if it holds the lock, else its predecessor's name.
std::optional<std::string> predecessor(const std::vector<contender>& sorted, const std::string& self);

/// The data of a serialake contender of `kind`.
std::string identifier(const std::string& kind);

/// The holder a contender's data and stat describe. Data that is not a
/// serialake identifier (a kazoo program's) becomes kind "kazoo", its text in host.
lock_holder holder_of(const std::string& data, const Stat& stat);

}  // namespace serialake::zk
