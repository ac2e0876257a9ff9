#!/usr/bin/python3
# Design "process pool": a fixed pool of worker processes (concurrent.futures) fed by the
# accepting loop (pool.py). Each task carries the connection's socket to a worker process
# (multiprocessing passes the file descriptor over a Unix socket), which answers the request.
import concurrent.futures

import pool

if __name__ == "__main__":
    pool.main(concurrent.futures.ProcessPoolExecutor, owned=True)
