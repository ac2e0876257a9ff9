#!/usr/bin/python3
# Design "thread pool": a fixed pool of threads (concurrent.futures) fed by the accepting loop
# (pool.py); each task answers the requests waiting on one connection.
import concurrent.futures

import pool

if __name__ == "__main__":
    pool.main(concurrent.futures.ThreadPoolExecutor, owned=False)
