/* Fuzz the receiver end to end: each input is written raw to a live server (in-process, on an
 * in-memory database) and the answer read back. Malformed HTTP must never crash it or stop it
 * from answering the next, well-formed request. */
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static server *srv;
static struct config *cfg;
static uint16_t port;

static void start(void)
{
    struct wh_error err = {0};
    signal(SIGPIPE, SIG_IGN);
    /* a plain endpoint, and one whose script runs through every rule kind (short waits) */
    static const char text[] =
        "{\"endpoints\":[{\"name\":\"a\",\"path\":\"/a/*\"},"
        "{\"name\":\"s\",\"path\":\"/s/*\",\"message_key\":\"/id\",\"responses\":{\"rules\":["
        "{\"status\":409,\"match\":{\"body\":{\"/id\":{\"regex\":\"^d\"}}}},"
        "{\"status\":410,\"match\":{\"headers\":{\"X-Gone\":\"1\"},\"event\":\"e\"}},"
        "{\"status\":500,\"times\":1,\"scope\":\"message\"},"
        "{\"fault\":\"partial\"},{\"fault\":\"malformed\"},{\"fault\":\"close\"},"
        "{\"fault\":\"reset\"},{\"status\":200,\"delay_ms\":{\"min\":1,\"max\":3}},"
        "{\"fault\":\"hang\",\"hang_max_ms\":5},"
        "{\"status\":202,\"fault\":\"dribble\",\"dribble_ms\":5}],\"cycle\":true}}]}";
    if (config_load_text(text, sizeof(text) - 1, "fuzz", &cfg, &err) < 0)
        abort();
    struct server_options o;
    server_options_init(&o);
    o.listen = "127.0.0.1:0";
    o.db_path = ":memory:";
    o.config = cfg;
    o.max_body = 4096;
    o.log_format = LOG_NONE;
    o.threads = 1;
    o.connection_timeout_s = 1;
    if (server_start(&o, &srv, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        abort();
    }
    port = (uint16_t)atoi(strrchr(server_address(srv), ':') + 1);
}

/* Send bytes (then half-close when asked), read until the server closes or 1 s passes. */
static size_t exchange(const void *data, size_t size, char *out, size_t cap, bool half_close)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* libFuzzer's timeout alarm (SIGALRM, every second) interrupts blocking calls: an
     * interrupted connect goes on in the background, so wait for it */
    int rc = fd < 0 ? -1 : connect(fd, (struct sockaddr *)&a, sizeof(a));
    if (rc < 0 && fd >= 0 && errno == EINTR) {
        struct pollfd w = {.fd = fd, .events = POLLOUT};
        int err = 0;
        socklen_t el = sizeof(err);
        while ((rc = poll(&w, 1, 5000)) < 0 && errno == EINTR)
            ;
        rc = rc > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0 ? 0 : -1;
    }
    if (rc < 0) {
        perror("connect"); /* the server must keep accepting */
        abort();
    }
    size_t off = 0;
    while (off < size) {
        ssize_t n = send(fd, (const char *)data + off, size - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    if (half_close)
        shutdown(fd, SHUT_WR);
    size_t got = 0;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    for (;;) {
        int pr = got < cap ? poll(&p, 1, 1000) : 0;
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            break;
        ssize_t n = recv(fd, out + got, cap - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    return got;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!srv)
        start();
    char out[8192];
    exchange(data, size, out, sizeof(out), true);
    static const char ok[] = "POST /a/x HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                             "Connection: close\r\n\r\n{}";
    size_t n = exchange(ok, sizeof(ok) - 1, out, sizeof(out) - 1, false);
    out[n] = '\0';
    if (strncmp(out, "HTTP/1.1 200", 12) != 0) {
        /* a well-formed delivery after any input must still be answered 200 */
        fprintf(stderr, "follow-up delivery answered: '%.200s'\n", out);
        abort();
    }
    return 0;
}
