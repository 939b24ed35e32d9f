/*
 * trap.c: a reactor that faults on purpose, for fault tests.
 *
 *     notified(0)   executes `unreachable` (__builtin_trap)
 *     notified(1)   loads through a volatile pointer far beyond linear memory
 *     other ch      logs "trap: notified N" and returns
 */
#include "sporadic.h"

SPORADIC_EXPORT("init") void init(void)
{
    sporadic_log("trap: init");
}

SPORADIC_EXPORT("notified") void notified(int ch)
{
    if (ch == 0)
        __builtin_trap();
    if (ch == 1) {
        /* 4 GiB - 16: beyond any 32-bit memory this module can have, so the load traps */
        volatile int *beyond = (volatile int *)(unsigned long)0xFFFFFFF0u;
        *beyond = *beyond + 1;
        return;
    }
    {
        char buf[48], *p = buf;
        p = sporadic_put_str(p, "trap: notified ");
        p = sporadic_put_int(p, ch);
        sporadic_log_n(buf, (int)(p - buf));
    }
}
