"""A client of Debian's libsqlite3 (called through ctypes, so the calls made are
exactly the ones below): waits for a gate file, then opens a database, runs three
sqlite3_exec batches and closes it."""
import ctypes
import os
import sys
import time

lib = ctypes.CDLL("libsqlite3.so.0")
gate = sys.argv[1]
print("sqlite client ready", os.getpid(), file=sys.stderr, flush=True)
while not os.path.exists(gate):
    time.sleep(0.01)
db = ctypes.c_void_p()
assert lib.sqlite3_open(b":memory:", ctypes.byref(db)) == 0
BATCHES = [
    b"CREATE TABLE t(x INTEGER); INSERT INTO t VALUES(1); INSERT INTO t VALUES(2); SELECT x FROM t;",
    b"INSERT INTO t VALUES(3); SELECT x FROM t;",
    b"UPDATE t SET x = x + 1; SELECT count(*) FROM t;",
]
for sql in BATCHES:
    assert lib.sqlite3_exec(db, sql, None, None, None) == 0
assert lib.sqlite3_close(db) == 0
