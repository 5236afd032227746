/*
 * The clocks of work the maestro splits over turns of its loop (the
 * compliance matrix and history, retention): how long a turn took, and
 * how much of that was this thread's own CPU (the rest: other work on
 * the cores, the disk).
 */
#ifndef TURNCLOCK_H
#define TURNCLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC, ms. */
int64_t	turn_now_ms(void);
/* This thread's CPU time (CLOCK_THREAD_CPUTIME_ID), ms. */
int64_t	turn_cpu_ms(void);

#endif
