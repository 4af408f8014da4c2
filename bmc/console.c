/* console.c - the registry of serial-console openers (console.h). */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include "bmc/console.h"
#include "xalloc.h"

#define MAX_OPENERS 4

/* Filled before any thread runs, read-only afterwards: no lock. */
static const struct bmc_console_driver *openers[MAX_OPENERS];
static size_t n_openers;

struct bmc_console {
    const struct bmc_console_driver *d;
    void *handle;
    int fd;
};

static const struct bmc_console_driver *find(const char *driver)
{
    for (size_t i = 0; driver && i < n_openers; i++)
        if (strcmp(openers[i]->driver, driver) == 0)
            return openers[i];
    return NULL;
}

ul_err bmc_console_register(const struct bmc_console_driver *d, ul_errmsg *em)
{
    if (!d || !d->driver || !d->open || !d->close)
        return ul_errmsg_set(em, UL_ERR_INVALID, "console opener without driver, open or close");
    if (find(d->driver))
        return ul_errmsg_set(em, UL_ERR_INVALID, "a console opener for driver %s is registered",
                             d->driver);
    if (n_openers == MAX_OPENERS)
        return ul_errmsg_set(em, UL_ERR_INVALID, "too many console openers (max %d)",
                             MAX_OPENERS);
    openers[n_openers++] = d;
    return UL_OK;
}

bool bmc_console_supported(const char *driver)
{
    return find(driver) != NULL;
}

ul_err bmc_console_open(const struct ul_node *n, bmc_console **out, ul_errmsg *em)
{
    const struct bmc_console_driver *d = find(n->driver);
    if (!d)
        return ul_errmsg_set(em, UL_ERR_UNSUPPORTED,
                             "node %s: serial console not supported by driver %s", n->name,
                             n->driver ? n->driver : "?");
    void *h = NULL;
    int fd = -1;
    ul_err rc = d->open(n, &h, &fd, em);
    if (rc != UL_OK)
        return rc;
    bmc_console *c = xcalloc(1, sizeof(*c));
    c->d = d;
    c->handle = h;
    c->fd = fd;
    *out = c;
    return UL_OK;
}

int bmc_console_fd(const bmc_console *c)
{
    return c->fd;
}

void bmc_console_why(bmc_console *c, ul_errmsg *em)
{
    if (c->d->why)
        c->d->why(c->handle, em);
    else
        ul_errmsg_set(em, UL_ERR_IO, "console session ended");
}

void bmc_console_close(bmc_console *c)
{
    if (!c)
        return;
    if (c->fd >= 0)
        close(c->fd);
    c->d->close(c->handle);
    free(c);
}
