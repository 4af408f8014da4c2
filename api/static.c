/* static.c - the dashboard's files (web/), served at /. */
#include "config.h"

#include "api/api_internal.h"

void api_static(api_server *srv, struct api_req *rq, struct api_reply *rp)
{
    (void)srv;
    (void)rq;
    api_error(rp, MHD_HTTP_NOT_FOUND, "not_found", "no such endpoint");
}
