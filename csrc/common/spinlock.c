/* SPDX-License-Identifier: MIT
 *
 * The contended path of wt_spinlock (platform.h).
 */
#include "platform.h"

void wt_spinlock_wait(wt_spinlock *lock)
{
    for (unsigned spins = 0;; ++spins) {
        /* Read before trying again, so that waiters do not bounce the line. */
        while (wt_atomic_load(&lock->held, WT_RELAXED)) {
            if (spins++ < 1000)
                wt_cpu_relax();
            else
                wt_yield();
        }
        if (!wt_atomic_exchange(&lock->held, 1, WT_ACQUIRE))
            return;
    }
}
