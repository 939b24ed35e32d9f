/*
 * The root task of `sporadic validate`: runs one scenario table (scenario.h, generated from a
 * sporadic description) on the real seL4 MCS kernel and prints what happened.
 *
 * Raw libsel4, no allocator. Each scenario thread gets a TCB, a scheduling context configured
 * as the description says (budget, period, extra refills, sporadic flag) and a stack in the
 * root task's address space, and interprets its own small program: spin, compute, yield,
 * signal, wait, mark, loops, and IPC (call, send, nbsend, recv, wait on an endpoint, reply_recv,
 * reply with its own reply object), resume of a thread left stopped, and unbind of a thread's SC,
 * which makes a server passive. Invocations that pass a capability (SchedContext_Bind) need an
 * IPC buffer, which the threads do not have. Every thread times itself with the ARM generic counter
 * (cntvct_el0, readable from user mode): a jump of more than GAP_TICKS between two reads means
 * it did not run in between, so it records the intervals in which it ran, and the time of each
 * mark. The root task configures every SC, resumes the threads in table order, and sleeps until
 * the scenario's end by configuring its own SC with a period just over the scenario's duration
 * and yielding (an MCS sleep needs no timer driver). Then it stops the threads and prints:
 *
 *   SCN FREQ <hz>
 *   SCN CFG <thread> <ns_before>             the root task configured the thread's SC
 *   SCN RES <thread> <ns_before>             the root task resumed the thread
 *   SCN ROOT <ns_before>                     the root task configured its own SC to sleep
 *   SCN REF <ticks>                          the counter's value at the start
 *   SCN IV <thread> <start_ns> <end_ns>      an interval in which the thread ran
 *   SCN MK <thread> <label> <t_ns>           a mark
 *   SCN LOST <thread> <intervals> <marks>    records that did not fit the buffers
 *   SCN DONE
 *
 * Times are ns after the root task's last read of the counter before it slept, which is when
 * the scenario's threads start.
 */
#include <stdio.h>
#include <stdint.h>
#include <sel4/sel4.h>
#include <sel4runtime.h>

enum {
    OP_END, OP_SPIN, OP_COMPUTE, OP_YIELD, OP_SIGNAL, OP_WAIT, OP_LOOP, OP_ENDLOOP, OP_MARK,
    OP_CALL, OP_RECV, OP_REPLY_RECV, OP_REPLY, OP_UNBIND,
    OP_SEND, OP_NBSEND, OP_WAIT_EP, OP_RESUME
};

typedef struct {
    uint8_t op;
    uint64_t arg;
} scn_op_t;

typedef struct {
    int prio;
    uint64_t budget_us, period_us;
    int extra_refills, sporadic;
    int prog;
    int start; /* resumed by the root task; otherwise by another thread's resume */
} scn_thread_t;

#include "scenario.h"

#define GAP_TICKS 312 /* 5 us at 62.5 MHz */
#define STEP_TICKS 10 /* 160 ns: one pass of a timing loop takes a tick or two */
#define MAXIV 2048
#define MAXMK 2048
#define STACK_SIZE 16384
#define MAXDEPTH 8

typedef struct {
    uint64_t s, e;
} iv_t;

typedef struct {
    uint64_t t;
    int label;
} mk_t;

typedef struct {
    seL4_CPtr tcb, sc, reply;
    int index;
    uint64_t start, last;
    int niv, nmk, lost_iv, lost_mk, done;
    iv_t iv[MAXIV];
    mk_t mk[MAXMK];
} worker_t;

static worker_t W[SCN_NTHREADS];
static seL4_CPtr ntfn[SCN_NNTFN + 1];
static seL4_CPtr ep[SCN_NEP + 1];
static uint64_t stacks[SCN_NTHREADS][STACK_SIZE / 8] __attribute__((aligned(16)));
static volatile uint64_t g_ref, g_end;

static inline uint64_t rdcnt(void)
{
    uint64_t v;
    asm volatile("isb; mrs %0, cntvct_el0" : "=r"(v) :: "memory");
    return v;
}

static inline uint64_t rdfrq(void)
{
    uint64_t v;
    asm volatile("mrs %0, cntfrq_el0" : "=r"(v));
    return v;
}

static void close_interval(worker_t *w)
{
    if (w->niv < MAXIV) {
        w->iv[w->niv].s = w->start;
        w->iv[w->niv].e = w->last;
        w->niv++;
    } else {
        w->lost_iv++;
    }
}

/* Read the counter; a gap since the last read closes the interval the thread was running in. */
static uint64_t observe(worker_t *w)
{
    uint64_t now = rdcnt();
    if (now - w->last > GAP_TICKS) {
        close_interval(w);
        w->start = now;
    }
    w->last = now;
    return now;
}

static void finish(worker_t *w)
{
    close_interval(w);
    w->done = 1;
    seL4_TCB_Suspend(w->tcb);
    for (;;) {
    }
}

static void worker_fn(worker_t *w)
{
    const scn_op_t *prog = &scn_prog[scn_threads[w->index].prog];
    int pc = 0, depth = 0;
    int loop_pc[MAXDEPTH];
    uint64_t loop_left[MAXDEPTH];
    uint64_t end = g_end;
    w->start = w->last = rdcnt();
    for (;;) {
        uint64_t now = observe(w);
        if (now >= end) {
            finish(w);
        }
        const scn_op_t *op = &prog[pc++];
        switch (op->op) {
        case OP_END:
            finish(w);
            break;
        case OP_SPIN:
            while (observe(w) < end) {
            }
            finish(w);
            break;
        case OP_COMPUTE: {
            /* the thread's own time, as the simulator's compute is: a step longer than
               STEP_TICKS was an interrupt or a preemption and does not count */
            uint64_t need = op->arg, done = 0;
            while (done < need) {
                uint64_t before = w->last;
                now = observe(w);
                if (now - before <= STEP_TICKS) {
                    done += now - before;
                }
                if (now >= end) {
                    finish(w);
                }
            }
            break;
        }
        case OP_YIELD:
            seL4_Yield();
            break;
        case OP_SIGNAL:
            seL4_Signal(ntfn[op->arg]);
            break;
        case OP_WAIT:
            /* WithMRs and NULLs: the threads have no IPC buffer for seL4_Wait to write to */
            seL4_WaitWithMRs(ntfn[op->arg], NULL, NULL, NULL, NULL, NULL);
            break;
        /* IPC carries one word in a register: the threads have no IPC buffer */
        case OP_CALL: {
            seL4_Word m0 = 0;
            seL4_CallWithMRs(ep[op->arg], seL4_MessageInfo_new(0, 0, 0, 1), &m0, NULL, NULL, NULL);
            break;
        }
        case OP_RECV: {
            seL4_Word m0 = 0;
            seL4_RecvWithMRs(ep[op->arg], NULL, w->reply, &m0, NULL, NULL, NULL);
            break;
        }
        case OP_REPLY_RECV: {
            seL4_Word m0 = 0;
            seL4_ReplyRecvWithMRs(ep[op->arg], seL4_MessageInfo_new(0, 0, 0, 1), NULL, &m0, NULL,
                                  NULL, NULL, w->reply);
            break;
        }
        case OP_REPLY: {
            seL4_Word m0 = 0;
            seL4_SendWithMRs(w->reply, seL4_MessageInfo_new(0, 0, 0, 1), &m0, NULL, NULL, NULL);
            break;
        }
        case OP_UNBIND:
            seL4_SchedContext_Unbind(W[op->arg].sc);
            break;
        case OP_SEND: {
            seL4_Word m0 = 0;
            seL4_SendWithMRs(ep[op->arg], seL4_MessageInfo_new(0, 0, 0, 1), &m0, NULL, NULL, NULL);
            break;
        }
        case OP_NBSEND: {
            seL4_Word m0 = 0;
            seL4_NBSendWithMRs(ep[op->arg], seL4_MessageInfo_new(0, 0, 0, 1), &m0, NULL, NULL,
                               NULL);
            break;
        }
        case OP_WAIT_EP:
            seL4_WaitWithMRs(ep[op->arg], NULL, NULL, NULL, NULL, NULL);
            break;
        case OP_RESUME:
            seL4_TCB_Resume(W[op->arg].tcb);
            break;
        case OP_MARK:
            if (w->nmk < MAXMK) {
                w->mk[w->nmk].t = now;
                w->mk[w->nmk].label = (int)op->arg;
                w->nmk++;
            } else {
                w->lost_mk++;
            }
            break;
        case OP_LOOP:
            loop_pc[depth] = pc;
            loop_left[depth] = op->arg; /* 0: forever */
            depth++;
            break;
        case OP_ENDLOOP:
            if (loop_left[depth - 1] == 1) {
                depth--;
            } else {
                if (loop_left[depth - 1] > 1) {
                    loop_left[depth - 1]--;
                }
                pc = loop_pc[depth - 1];
            }
            break;
        }
    }
}

static seL4_CPtr next_slot, ut_cap;

static seL4_CPtr make(seL4_Word type, seL4_Word size_bits)
{
    seL4_CPtr slot = next_slot++;
    seL4_Error e = seL4_Untyped_Retype(ut_cap, type, size_bits, seL4_CapInitThreadCNode, 0, 0,
                                       slot, 1);
    if (e != seL4_NoError) {
        printf("SCN ERROR retype of type %lu failed: %d\n", (unsigned long)type, e);
        for (;;) {
        }
    }
    return slot;
}

static void check(seL4_Error e, const char *what, int i)
{
    if (e != seL4_NoError) {
        printf("SCN ERROR %s of thread %d failed: %d\n", what, i, e);
        for (;;) {
        }
    }
}

static uint64_t freq;

static uint64_t ns(uint64_t ticks)
{
    return ticks * 1000000000ull / freq;
}

static int sc_bits(int extra_refills)
{
    int bits = seL4_MinSchedContextBits;
    while ((int)seL4_MaxExtraRefills(bits) < extra_refills) {
        bits++;
    }
    return bits;
}

int main(int argc, char **argv)
{
    seL4_BootInfo *bi = (seL4_BootInfo *)sel4runtime_bootinfo();
    freq = rdfrq();
    next_slot = bi->empty.start;
    for (seL4_CPtr c = bi->untyped.start; c < bi->untyped.end; c++) {
        seL4_UntypedDesc *d = &bi->untypedList[c - bi->untyped.start];
        if (!d->isDevice && d->sizeBits >= 20) {
            ut_cap = c;
            break;
        }
    }
    for (int n = 1; n <= SCN_NNTFN; n++) {
        ntfn[n] = make(seL4_NotificationObject, 0);
    }
    for (int n = 1; n <= SCN_NEP; n++) {
        ep[n] = make(seL4_EndpointObject, 0);
    }
    for (int i = 0; i < SCN_NTHREADS; i++) {
        const scn_thread_t *t = &scn_threads[i];
        worker_t *w = &W[i];
        w->index = i;
        w->tcb = make(seL4_TCBObject, 0);
        w->sc = make(seL4_SchedContextObject, sc_bits(t->extra_refills));
        w->reply = make(seL4_ReplyObject, 0);
        check(seL4_TCB_Configure(w->tcb, seL4_CapInitThreadCNode, 0, seL4_CapInitThreadVSpace, 0,
                                 0, seL4_CapNull), "TCB_Configure", i);
        check(seL4_TCB_SetSchedParams(w->tcb, seL4_CapInitThreadTCB, t->prio, t->prio, w->sc,
                                      seL4_CapNull), "SetSchedParams", i);
        seL4_UserContext ctx = {0};
        ctx.pc = (seL4_Word)worker_fn;
        ctx.sp = (seL4_Word)&stacks[i][STACK_SIZE / 8];
        ctx.x0 = (seL4_Word)w;
        check(seL4_TCB_WriteRegisters(w->tcb, 0, 0, sizeof(ctx) / sizeof(seL4_Word), &ctx),
              "WriteRegisters", i);
    }
    uint64_t tcfg[SCN_NTHREADS], tres[SCN_NTHREADS], troot;
    for (int i = 0; i < SCN_NTHREADS; i++) {
        const scn_thread_t *t = &scn_threads[i];
        tcfg[i] = rdcnt();
        check(seL4_SchedControl_ConfigureFlags(bi->schedcontrol.start, W[i].sc, t->budget_us,
                                               t->period_us, t->extra_refills, 0,
                                               t->sporadic ? seL4_SchedContext_Sporadic : 0),
              "ConfigureFlags", i);
    }
    /* Resume enqueues at the head of a priority's queue (possibleSwitchTo, tcbSchedEnqueue):
       resuming in reverse leaves equal priorities in table order, as the simulator boots them */
    for (int i = SCN_NTHREADS - 1; i >= 0; i--) {
        tres[i] = rdcnt();
        if (scn_threads[i].start) {
            check(seL4_TCB_Resume(W[i].tcb), "Resume", i);
        }
    }
    troot = rdcnt();
    /* sleep past the end: the next refill comes one period (the duration and a margin) later */
    check(seL4_SchedControl_ConfigureFlags(bi->schedcontrol.start, seL4_CapInitThreadSC,
                                           SCN_ROOT_BUDGET_US, SCN_DURATION_US + SCN_MARGIN_US,
                                           0, 0, 0), "ConfigureFlags (root)", -1);
    g_ref = rdcnt();
    g_end = g_ref + freq * SCN_DURATION_US / 1000000;
    seL4_Yield();
    for (int i = 0; i < SCN_NTHREADS; i++) {
        seL4_TCB_Suspend(W[i].tcb);
        if (!W[i].done) {
            close_interval(&W[i]); /* a thread still blocked (in a wait) ran last until then */
        }
    }
    /* round robin from here on: printing must not run out of budget */
    check(seL4_SchedControl_ConfigureFlags(bi->schedcontrol.start, seL4_CapInitThreadSC,
                                           1000000, 1000000, 0, 0, 0), "ConfigureFlags (root)",
          -1);
    uint64_t ref = g_ref;
    printf("SCN FREQ %llu\n", (unsigned long long)freq);
    /* the root task's own steps, ns before the start, so that a simulation can replay them */
    for (int i = 0; i < SCN_NTHREADS; i++) {
        printf("SCN CFG %d %llu\n", i, (unsigned long long)ns(ref - tcfg[i]));
        printf("SCN RES %d %llu\n", i, (unsigned long long)ns(ref - tres[i]));
    }
    printf("SCN ROOT %llu\n", (unsigned long long)ns(ref - troot));
    printf("SCN REF %llu\n", (unsigned long long)ref); /* the counter, to align kernel logs */
    for (int i = 0; i < SCN_NTHREADS; i++) {
        worker_t *w = &W[i];
        for (int k = 0; k < w->niv; k++) {
            printf("SCN IV %d %llu %llu\n", i, (unsigned long long)ns(w->iv[k].s - ref),
                   (unsigned long long)ns(w->iv[k].e - ref));
        }
        for (int k = 0; k < w->nmk; k++) {
            printf("SCN MK %d %d %llu\n", i, w->mk[k].label,
                   (unsigned long long)ns(w->mk[k].t - ref));
        }
        if (w->lost_iv || w->lost_mk) {
            printf("SCN LOST %d %d %d\n", i, w->lost_iv, w->lost_mk);
        }
    }
    printf("SCN DONE\n");
    seL4_TCB_Suspend(seL4_CapInitThreadTCB);
    return 0;
}
