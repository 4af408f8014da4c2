#include "config.h"

#include "jobwait.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jsonv.h"
#include "output.h"
#include "ultime.h"
#include "xalloc.h"

/* Most power jobs end within a second or two, so start polling fast; back
 * off to 500 ms for long ones.  A round over many jobs already takes one
 * round trip per job, which throttles big fan-outs by itself. */
#define JW_POLL_FIRST_MS 200
#define JW_POLL_MAX_MS 500

void jw_items_clear(struct jw_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        json_object_put(items[i].job);
        free(items[i].error_code);
        free(items[i].error);
        items[i].job = NULL;
        items[i].error_code = NULL;
        items[i].error = NULL;
    }
}

bool jw_finished(json_object *job)
{
    const char *s = jv_str(job, "state");
    return s &&
           (strcmp(s, "succeeded") == 0 || strcmp(s, "failed") == 0 || strcmp(s, "canceled") == 0);
}

bool jw_item_done(const struct jw_item *it)
{
    return it->error || jw_finished(it->job);
}

bool jw_item_ok(const struct jw_item *it)
{
    const char *s = jv_str(it->job, "state");
    return !it->error && s && strcmp(s, "succeeded") == 0;
}

bool jw_item_failure(const struct jw_item *it, enum jw_outcome outcome, double waited_s,
                     const char **code, const char **message, char *buf, size_t buflen)
{
    json_object *err = NULL;
    const char *state = jv_str(it->job, "state");

    if (it->error) {
        *code = it->error_code;
        *message = it->error;
    } else if (!jw_finished(it->job) && outcome == JW_LOST) {
        *code = "connection_error";
        *message = "lost the connection to the server while waiting";
        return true;
    } else if (!jw_finished(it->job)) {
        *code = "wait_timeout";
        snprintf(buf, buflen, "job %lld still %s after %.0f s", it->id, state ? state : "queued",
                 waited_s);
        *message = buf;
    } else if (json_object_object_get_ex(it->job, "error", &err) && jv_str(err, "message")) {
        *code = jv_str(err, "code") ? jv_str(err, "code") : state;
        *message = jv_str(err, "message");
    } else {
        /* A canceled job may carry no error object. */
        *code = state;
        snprintf(buf, buflen, "job %lld %s", it->id, state);
        *message = buf;
    }
    return false;
}

/* Read the item's job once.  Returns false when no reply came. */
static bool poll_one(struct cl_client *c, struct jw_item *it, struct cl_reply *lost)
{
    char path[64];
    struct cl_reply r;
    snprintf(path, sizeof(path), "/api/v1/jobs/%lld", it->id);
    enum cl_status st = cl_request(c, "GET", path, NULL, &r);
    if (st == CL_TRANSPORT_ERROR) {
        *lost = r;
        return false;
    }
    if (st == CL_OK && r.body && json_object_is_type(r.body, json_type_object)) {
        json_object_put(it->job);
        it->job = json_object_get(r.body);
    } else if (st == CL_OK) {
        it->error_code = xstrdup("bad_reply");
        it->error = xasprintf("job %lld: reply is not a job object", it->id);
    } else {
        it->error_code = xstrdup(r.code);
        it->error = xstrdup(r.message);
    }
    cl_reply_clear(&r);
    return true;
}

/* The progress line of a single job: its state, percentage and note
 * ("reading sensors"), which say more than counts of one. */
static void show_one(const struct jw_item *it, int64_t elapsed_ms)
{
    const char *state = jv_str(it->job, "state");
    json_object *pct = NULL;
    json_object_object_get_ex(it->job, "progress", &pct);
    char *note = out_clean(jv_str(it->job, "message"));
    /* Cut to 40 characters (not bytes: never inside a UTF-8 sequence) to
     * keep the line within 80 columns: a wrapped line is not erased by the
     * next "\r\033[K" and the terminal fills with copies. */
    size_t chars = 0;
    for (char *p = note; *p; p++)
        if ((*p & 0xc0) != 0x80 && ++chars > 40) {
            *p = '\0';
            break;
        }
    fprintf(stderr, "\r\033[Kwaiting %.0f s: job %lld %s, %d%%: %s", (double)elapsed_ms / 1000.0,
            it->id, state ? state : "queued", json_object_get_int(pct), note);
    fflush(stderr);
    free(note);
}

static void show_progress(const struct jw_item *items, size_t n, int64_t elapsed_ms)
{
    if (n == 1 && items[0].job) {
        show_one(&items[0], elapsed_ms);
        return;
    }
    size_t ok = 0, bad = 0, running = 0, queued = 0;
    for (size_t i = 0; i < n; i++) {
        const char *s = jv_str(items[i].job, "state");
        if (jw_item_ok(&items[i]))
            ok++;
        else if (jw_item_done(&items[i]))
            bad++;
        else if (s && strcmp(s, "running") == 0)
            running++;
        else
            queued++;
    }
    fprintf(stderr,
            "\r\033[Kwaiting %.0f s: %zu/%zu finished (%zu succeeded, %zu failed), "
            "%zu running, %zu queued",
            (double)elapsed_ms / 1000.0, ok + bad, n, ok, bad, running, queued);
    fflush(stderr);
}

static void report_lost(const struct jw_item *items, size_t n, const struct cl_reply *lost)
{
    out_err("%s", lost->message);
    char *ids = xstrdup("");
    size_t pending = 0;
    for (size_t i = 0; i < n; i++) {
        if (jw_item_done(&items[i]))
            continue;
        char *next = xasprintf("%s %lld", ids, items[i].id);
        free(ids);
        ids = next;
        pending++;
    }
    out_err("%zu job%s still pending; %s on without us. Resume with: underlay job wait%s", pending,
            pending == 1 ? "" : "s", pending == 1 ? "it runs" : "they run", ids);
    free(ids);
}

enum jw_outcome jw_wait(struct cl_client *c, struct jw_item *items, size_t n, double timeout_s)
{
    const int64_t start = ul_mono_ms();
    const int64_t deadline = timeout_s > 0 ? start + (int64_t)(timeout_s * 1000.0) : 0;
    const bool tty = isatty(STDERR_FILENO);
    int64_t interval = JW_POLL_FIRST_MS;
    enum jw_outcome outcome = JW_DONE;
    struct cl_reply lost;

    for (;;) {
        size_t pending = 0;
        for (size_t i = 0; i < n; i++) {
            if (jw_item_done(&items[i]))
                continue;
            if (!poll_one(c, &items[i], &lost)) {
                outcome = JW_LOST;
                goto out;
            }
            pending += !jw_item_done(&items[i]);
        }
        int64_t now = ul_mono_ms();
        if (tty)
            show_progress(items, n, now - start);
        if (pending == 0)
            goto out;
        if (deadline && now >= deadline) {
            outcome = JW_TIMED_OUT;
            goto out;
        }
        ul_sleep_ms(deadline && deadline - now < interval ? deadline - now : interval);
        interval = interval * 3 / 2 > JW_POLL_MAX_MS ? JW_POLL_MAX_MS : interval * 3 / 2;
    }
out:
    if (tty)
        fputs("\r\033[K", stderr);
    if (outcome == JW_LOST) {
        report_lost(items, n, &lost);
        cl_reply_clear(&lost);
    }
    return outcome;
}
