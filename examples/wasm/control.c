/*
 * control.c: a 1 kHz control-loop reactor.
 *
 * Every notification (a timer tick, on any channel) is one job: read the simulated plant's
 * output, run one fixed-point (Q16.16) PID step towards the set-point, notify the actuator on
 * channel 1, then advance the plant (a mass on a spring with a damper, about 3 Hz, in floating
 * point) over the 1 ms period in SUBSTEPS Euler steps, through a quantising sensor and a 16-tap
 * smoothing filter. The work per job is fixed, so every notified() costs about the same fuel
 * (about 87,000 units; a few hundred more on the ticks that log). Every 100th tick logs
 * "control: tick N u=U y=Y" (U the actuator command, Y the measured position, 3 decimals).
 * The set-point alternates between 1.0 and -0.5 every 500 ticks. Deterministic.
 */
#include "sporadic.h"

#define ACTUATOR_CH 1
#define SUBSTEPS 1000
#define TICK_S 0.001
#define Q 16 /* PID values are Q16.16 fixed point */
#define ONE (1 << Q)

/* gains, Q16.16 */
#define KP (int)(6.0 * ONE)
#define KI (int)(0.05 * ONE) /* per tick */
#define KD (int)(40.0 * ONE) /* per tick */
#define U_MAX (10 * ONE)
#define I_MAX (200 * ONE)
#define TAPS 16

static double pos, vel;              /* plant state: m, m/s */
static int meas;                     /* last measurement, Q16.16 */
static int fir[TAPS];                /* sensor history, Q16.16 */
static int integ, prev_err, u;       /* PID state, Q16.16 */
static unsigned tick;

static int clamp(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* One fixed-point PID step; returns the new command. */
static int pid(int setpoint, int y)
{
    int err = setpoint - y;
    long long p, d, out;

    integ = clamp(integ + err, -I_MAX, I_MAX);
    p = (long long)KP * err;
    d = (long long)KD * (err - prev_err);
    out = (p + (long long)KI * integ + d) >> Q;
    prev_err = err;
    return clamp((int)out, -U_MAX, U_MAX);
}

/* Advance the plant by one period under command u (Q16.16 newtons). */
static void plant(int command)
{
    const double m = 0.01, k = 4.0, c = 0.2, h = TICK_S / SUBSTEPS;
    double force = (double)command / ONE;
    int i, j;

    for (i = 0; i < SUBSTEPS; i++) {
        double acc = (force - c * vel - k * pos) / m;
        long long smooth = 0;

        vel += acc * h;
        pos += vel * h;
        /* the sensor: quantise to Q16.16, then an 8-tap moving average */
        for (j = TAPS - 1; j > 0; j--)
            fir[j] = fir[j - 1];
        fir[0] = (int)(pos * ONE);
        for (j = 0; j < TAPS; j++)
            smooth += fir[j];
        meas = (int)(smooth / TAPS);
    }
}

SPORADIC_EXPORT("init") void init(void)
{
    sporadic_log("control: init");
}

SPORADIC_EXPORT("notified") void notified(int ch)
{
    int setpoint = (tick / 500) % 2 ? -ONE / 2 : ONE;

    (void)ch;
    tick++;
    u = pid(setpoint, meas);
    microkit_notify(ACTUATOR_CH);
    plant(u);
    if (tick % 100 == 0) {
        char buf[96], *p = buf;
        p = sporadic_put_str(p, "control: tick ");
        p = sporadic_put_uint(p, tick);
        p = sporadic_put_str(p, " u=");
        p = sporadic_put_fixed(p, ((long long)u * 1000) >> Q, 3);
        p = sporadic_put_str(p, " y=");
        p = sporadic_put_fixed(p, ((long long)meas * 1000) >> Q, 3);
        sporadic_log_n(buf, (int)(p - buf));
    }
}
