/* chassis_ops.c - the chassis identify LED and a reset of the BMC itself, as
 * jobs ("identify", "bmc.reset"), written over the driver table's version 5
 * slots (bmc/driver.h).
 *
 * identify: {"state": "on"|"off"|"status", "seconds": 1-255 (with on;
 * omitted: until turned off)}.  Sets the LED, then reads it back where the
 * BMC reports it; status only reads it.
 * Runs again safely (the same end state), so it is resumable.
 *
 * bmc.reset: {"type": "cold"|"warm"} (default cold).  Step "sending" sends
 * the reset and closes the session (the BMC drops every session: it is never
 * cached); step "waiting" then tries a fresh session and a power read, parked
 * between tries with job_ctx_wait_until (no worker held), until the BMC
 * answers or the job's deadline passes.  Not resumable in "sending": a second
 * reset would restart the BMC twice.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bmc/driver.h"
#include "ops/ops.h"
#include "log.h"
#include "ultime.h"

#define IDENTIFY_MAX_SECONDS 255 /* IPMI's Chassis Identify interval is one byte */

/* ---- identify ---- */

static ul_err identify_parse(json_object *params, bool *on, bool *status, int *seconds,
                             ul_errmsg *em)
{
    const char *state = NULL;
    *on = false;
    *status = false;
    *seconds = 0;
    bool have_seconds = false;
    json_object_object_foreach(params, key, val)
    {
        if (strcmp(key, "state") == 0) {
            if (!json_object_is_type(val, json_type_string))
                return ul_errmsg_set(em, UL_ERR_INVALID,
                                     "field 'state': must be on, off or status");
            state = json_object_get_string(val);
        } else if (strcmp(key, "seconds") == 0) {
            int64_t v = json_object_get_int64(val);
            if (!json_object_is_type(val, json_type_int) || v < 1 || v > IDENTIFY_MAX_SECONDS)
                return ul_errmsg_set(em, UL_ERR_INVALID,
                                     "field 'seconds': must be an integer from 1 to %d",
                                     IDENTIFY_MAX_SECONDS);
            *seconds = (int)v;
            have_seconds = true;
        } else {
            return ul_errmsg_set(em, UL_ERR_INVALID, "unknown field '%.64s'", key);
        }
    }
    if (!state)
        return ul_errmsg_set(em, UL_ERR_INVALID, "missing required field 'state'");
    if (strcmp(state, "on") == 0)
        *on = true;
    else if (strcmp(state, "status") == 0)
        *status = true;
    else if (strcmp(state, "off") != 0)
        return ul_errmsg_set(em, UL_ERR_INVALID,
                             "field 'state': '%.32s' is not one of on, off, status", state);
    if (have_seconds && !*on)
        return ul_errmsg_set(em, UL_ERR_INVALID, "field 'seconds': only with state on");
    return UL_OK;
}

static ul_err identify_validate(json_object *params, ul_errmsg *em)
{
    bool on, status;
    int seconds;
    return identify_parse(params, &on, &status, &seconds, em);
}

static bool identify_resumable(json_object *params)
{
    (void)params;
    return true; /* setting the LED again reaches the same state */
}

static ul_err identify_run(ul_job_ctx *ctx, json_object *params, json_object **result,
                           ul_errmsg *em)
{
    bool on, status;
    int seconds;
    ul_err rc = identify_parse(params, &on, &status, &seconds, em);
    if (rc != UL_OK)
        return rc;
    struct bmc_op os;
    rc = bmc_op_open(ctx, &os, em);
    if (rc != UL_OK)
        goto out;
    if (status) {
        bool now = false;
        if (!os.driver->identify_get) {
            rc = ul_errmsg_set(em, UL_ERR_UNSUPPORTED,
                               "node %s: reading the identify LED not supported by this BMC",
                               job_ctx_node(ctx));
            goto out;
        }
        job_ctx_progress(ctx, 50, "reading the identify LED");
        if ((rc = os.driver->identify_get(os.s, &now, em)) == UL_OK) {
            *result = json_object_new_object();
            json_object_object_add(*result, "identify", json_object_new_string(now ? "on" : "off"));
            job_ctx_progress(ctx, 100, "identify LED is %s", now ? "on" : "off");
        }
        goto out;
    }
    if (!os.driver->identify_set) {
        rc =
            ul_errmsg_set(em, UL_ERR_UNSUPPORTED,
                          "node %s: chassis identify not supported by this BMC", job_ctx_node(ctx));
        goto out;
    }
    if (seconds)
        job_ctx_progress(ctx, 30, "turning the identify LED on for %d s", seconds);
    else
        job_ctx_progress(ctx, 30, "turning the identify LED %s", on ? "on" : "off");
    if ((rc = os.driver->identify_set(os.s, on, seconds, em)) != UL_OK)
        goto out;
    /* Read back where the BMC reports the LED; a BMC that does not is not
     * a failure, but the result says it was not verified. */
    bool now = false, verified = false;
    ul_errmsg rem = {{0}};
    if (os.driver->identify_get) {
        job_ctx_progress(ctx, 70, "reading the identify LED back");
        ul_err r = os.driver->identify_get(os.s, &now, &rem);
        if (r == UL_OK) {
            verified = true;
            if (now != on) {
                rc = ul_errmsg_set(em, UL_ERR_PROTOCOL,
                                   "node %s: identify %s accepted but the LED reads %s",
                                   job_ctx_node(ctx), on ? "on" : "off", now ? "on" : "off");
                goto out;
            }
        } else if (r != UL_ERR_UNSUPPORTED) {
            rc = r;
            *em = rem;
            goto out;
        }
    } else {
        snprintf(rem.text, sizeof(rem.text), "driver %s cannot read the identify LED",
                 os.driver->name);
    }
    json_object *r = json_object_new_object();
    json_object_object_add(r, "identify",
                           json_object_new_string(verified ? (now ? "on" : "off") : "unknown"));
    json_object_object_add(r, "requested", json_object_new_string(on ? "on" : "off"));
    if (seconds)
        json_object_object_add(r, "seconds", json_object_new_int(seconds));
    json_object_object_add(r, "verified", json_object_new_boolean(verified));
    if (!verified)
        json_object_object_add(r, "note", json_object_new_string(rem.text));
    *result = r;
    job_ctx_progress(ctx, 100, "identify LED %s%s", on ? "on" : "off",
                     verified ? "" : " (not readable to verify)");
out:
    bmc_op_close(ctx, &os, rc);
    if (rc != UL_OK && em->text[0] && !strstr(em->text, job_ctx_node(ctx)))
        ul_errmsg_prefix(em, "node %s: identify %s", job_ctx_node(ctx),
                         status ? "status"
                         : on   ? "on"
                                : "off");
    return rc;
}

static const struct ul_job_type identify_job = {
    .name = "identify",
    .needs_node = true,
    .validate = identify_validate,
    .resumable = identify_resumable,
    .run = identify_run,
};

/* ---- bmc.reset ---- */

enum { RESET_SENDING = 0, RESET_WAITING, RESET_NSTEPS };
static const char *const reset_step_names[RESET_NSTEPS] = {"sending", "waiting"};

#define RESET_RETRY_MS 1000

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static ul_err reset_parse(json_object *params, bool *cold, ul_errmsg *em)
{
    *cold = true;
    json_object_object_foreach(params, key, val)
    {
        if (strcmp(key, "type") == 0) {
            const char *t =
                json_object_is_type(val, json_type_string) ? json_object_get_string(val) : "";
            if (strcmp(t, "warm") == 0)
                *cold = false;
            else if (strcmp(t, "cold") != 0)
                return ul_errmsg_set(em, UL_ERR_INVALID, "field 'type': must be cold or warm");
        } else {
            return ul_errmsg_set(em, UL_ERR_INVALID, "unknown field '%.64s'", key);
        }
    }
    return UL_OK;
}

static ul_err reset_validate(json_object *params, ul_errmsg *em)
{
    bool cold;
    return reset_parse(params, &cold, em);
}

static int64_t checkpoint_int(ul_job_ctx *ctx, const char *key)
{
    json_object *cp = job_ctx_checkpoint(ctx), *v;
    return cp && json_object_object_get_ex(cp, key, &v) ? json_object_get_int64(v) : 0;
}

static ul_err reset_send(ul_job_ctx *ctx, bool cold, ul_errmsg *em)
{
    struct bmc_op os;
    ul_err rc = bmc_op_open(ctx, &os, em);
    if (rc != UL_OK)
        return rc;
    if (!os.driver->bmc_reset) {
        rc = ul_errmsg_set(em, UL_ERR_UNSUPPORTED, "node %s: BMC reset not supported by this BMC",
                           job_ctx_node(ctx));
        bmc_op_close(ctx, &os, rc);
        return rc;
    }
    job_ctx_progress(ctx, 20, "sending BMC %s reset", cold ? "cold" : "warm");
    rc = os.driver->bmc_reset(os.s, cold, em);
    /* The BMC drops every session when it restarts (and may have before it
     * answered): close this one rather than cache it, whatever the outcome.
     * bmc_op_close closes a session it is given a connection error for. */
    bmc_op_close(ctx, &os, UL_ERR_UNREACHABLE);
    if (rc != UL_OK)
        return rc;
    json_object *cp = json_object_new_object();
    json_object_object_add(cp, "sent_at_ms", json_object_new_int64(wall_ms()));
    rc = job_ctx_save_checkpoint(ctx, cp, em);
    json_object_put(cp);
    if (rc != UL_OK)
        return rc;
    job_ctx_progress(ctx, 40, "BMC %s reset sent; waiting for it to answer",
                     cold ? "cold" : "warm");
    /* Keep the node while the BMC restarts: a poll or another job would only
     * meet a silent BMC and hold a worker for its timeout. */
    job_ctx_wait_until(ctx, RESET_WAITING, RESET_RETRY_MS, true);
    return UL_OK;
}

/* One try: a fresh session and a power read.  UL_OK when the BMC answered. */
static ul_err reset_probe(ul_job_ctx *ctx, ul_errmsg *em)
{
    struct bmc_op os;
    ul_err rc = bmc_op_open(ctx, &os, em);
    if (rc == UL_OK && os.driver->power_get) {
        enum ul_power_state p;
        rc = os.driver->power_get(os.s, &p, em);
    }
    bmc_op_close(ctx, &os, rc);
    return rc;
}

static ul_err reset_wait(ul_job_ctx *ctx, bool cold, json_object **result, ul_errmsg *em)
{
    int64_t tries = checkpoint_int(ctx, "tries") + 1;
    int64_t sent = checkpoint_int(ctx, "sent_at_ms");
    ul_errmsg pem = {{0}};
    ul_err rc = reset_probe(ctx, &pem);
    if (rc == UL_OK) {
        int64_t after = sent ? wall_ms() - sent : -1;
        json_object *r = json_object_new_object();
        json_object_object_add(r, "reset", json_object_new_string(cold ? "cold" : "warm"));
        json_object_object_add(r, "answering", json_object_new_boolean(true));
        json_object_object_add(r, "answered_after_ms", json_object_new_int64(after));
        json_object_object_add(r, "tries", json_object_new_int64(tries));
        *result = r;
        job_ctx_progress(ctx, 100, "BMC answers again after %.1f s (%lld tr%s)",
                         (double)after / 1000.0, (long long)tries, tries == 1 ? "y" : "ies");
        return UL_OK;
    }
    if (!ul_err_is_transient(rc) && rc != UL_ERR_AUTH && rc != UL_ERR_PROTOCOL) {
        *em = pem;
        return rc;
    }
    if (job_ctx_remaining_ms(ctx) <= RESET_RETRY_MS)
        return ul_errmsg_set(em, UL_ERR_TIMEOUT,
                             "node %s: BMC %s reset sent but the BMC did not answer again "
                             "before the job's deadline (%lld tries; last: %s)",
                             job_ctx_node(ctx), cold ? "cold" : "warm", (long long)tries, pem.text);
    json_object *cp = json_object_new_object();
    json_object_object_add(cp, "sent_at_ms", json_object_new_int64(sent));
    json_object_object_add(cp, "tries", json_object_new_int64(tries));
    rc = job_ctx_save_checkpoint(ctx, cp, em);
    json_object_put(cp);
    if (rc != UL_OK)
        return rc;
    job_ctx_progress(ctx, 50, "BMC not answering yet (try %lld): %s", (long long)tries, pem.text);
    job_ctx_wait_until(ctx, RESET_WAITING, RESET_RETRY_MS, true);
    return UL_OK;
}

static ul_err reset_run(ul_job_ctx *ctx, json_object *params, json_object **result, ul_errmsg *em)
{
    bool cold;
    ul_err rc = reset_parse(params, &cold, em);
    if (rc != UL_OK)
        return rc;
    if ((rc = job_ctx_check(ctx, em)) != UL_OK)
        return rc;
    if (job_ctx_step(ctx) == RESET_SENDING)
        rc = reset_send(ctx, cold, em);
    else
        rc = reset_wait(ctx, cold, result, em);
    if (rc != UL_OK && em->text[0] && !strstr(em->text, job_ctx_node(ctx)))
        ul_errmsg_prefix(em, "node %s: BMC %s reset", job_ctx_node(ctx), cold ? "cold" : "warm");
    return rc;
}

static const struct ul_job_type bmc_reset_job = {
    .name = "bmc.reset",
    .needs_node = true,
    .validate = reset_validate,
    .run = reset_run,
    .step_names = reset_step_names,
    .nsteps = RESET_NSTEPS,
};

void bmc_chassis_ops_register(ul_jobs *jobs)
{
    jobs_register(jobs, &identify_job);
    jobs_register(jobs, &bmc_reset_job);
}
