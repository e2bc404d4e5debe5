#!/usr/bin/python3
"""The other party of the ZooKeeper interop tests: kazoo 2.8's lock recipe.

kazoo_lock.py HOSTS PATH KIND MODE     KIND: Lock | WriteLock | ReadLock
  hold   acquire (blocking), print "held", wait for a stdin line, release, print "released"
  try    acquire(blocking=False): print "acquired" (then release) or "busy"
  wait   acquire(timeout=30) in a thread; print "waiting" once its contender
         node exists, then "acquired" or "timeout"
The identifier (the contender's data) is "kazoo-test".
"""
import sys
import threading
import time

from kazoo.client import KazooClient
from kazoo.exceptions import LockTimeout

hosts, path, kind, mode = sys.argv[1:5]
zk = KazooClient(hosts=hosts)
zk.start(timeout=10)
lock = getattr(zk, kind)(path, "kazoo-test")


def say(s):
    print(s, flush=True)


if mode == "hold":
    lock.acquire(timeout=30)
    say("held")
    sys.stdin.readline()
    lock.release()
    say("released")
elif mode == "try":
    if lock.acquire(blocking=False):
        say("acquired")
        lock.release()
    else:
        say("busy")
elif mode == "wait":
    result = []

    def acquire():
        try:
            result.append(lock.acquire(timeout=30))
        except LockTimeout:
            result.append(False)

    t = threading.Thread(target=acquire)
    t.start()
    deadline = time.monotonic() + 30
    # kazoo has no hook for "now waiting": its node appears in the lock path.
    while lock.node is None and t.is_alive() and time.monotonic() < deadline:
        time.sleep(0.005)
    say("waiting")
    t.join()
    say("acquired" if result and result[0] else "timeout")
    if result and result[0]:
        lock.release()
zk.stop()
