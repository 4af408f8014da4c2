#include "config.h"

#include "job.h"

#include <stdlib.h>
#include <string.h>

static const char *const state_names[] = {"queued", "running", "succeeded", "failed",
                                          "canceled"};

const char *job_state_name(enum ul_job_state s)
{
    return (unsigned)s <= UL_JOB_CANCELED ? state_names[s] : "unknown";
}

int job_state_parse(const char *s)
{
    for (int i = 0; s && i <= UL_JOB_CANCELED; i++)
        if (strcmp(s, state_names[i]) == 0)
            return i;
    return -1;
}

const char *job_wait_name(int w)
{
    return w == UL_JOB_WAIT_UNTIL ? "until" : w == UL_JOB_WAIT_CHILDREN ? "children" : NULL;
}

void job_free(struct ul_job *j)
{
    if (!j)
        return;
    free(j->type);
    free(j->node);
    free(j->params);
    free(j->result);
    free(j->message);
    free(j->error_code);
    free(j->error);
    free(j->actor);
    free(j->checkpoint);
    free(j->owner);
    free(j->step_name);
    free(j);
}
