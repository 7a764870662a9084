/* webhooky health: is a receiver up? For container health checks, without curl. */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "mockserver/filter.h"

static int run(int argc, char **argv);

const struct cli_command cmd_health = {
    .name = "health",
    .summary = "check that a receiver answers on /_webhooky/health (for health checks)",
    .usage =
        "usage: webhooky health [--url URL] [--timeout MS]\n"
        "\n"
        "GET URL/_webhooky/health and exit 0 when it answers 200 {\"status\":\"ok\"}, 1 when it\n"
        "does not (with the reason on stderr), 2 for a usage error. Plain http only.\n"
        "\n"
        "options:\n"
        "  -u, --url URL        the receiver (default http://$WEBHOOKY_LISTEN, or\n"
        "                       http://127.0.0.1:8787; a 0.0.0.0 host means 127.0.0.1)\n"
        "  -t, --timeout MS     give up after this long (default 3000)\n"
        "  -h, --help           show this help\n",
    .run = run,
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for fd to be ready for `events` until the deadline; 0, or -ETIMEDOUT. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    int64_t left = deadline - now_ms();
    if (left <= 0)
        return -ETIMEDOUT;
    struct pollfd p = {.fd = fd, .events = events};
    int n = poll(&p, 1, (int)left);
    return n > 0 ? 0 : -ETIMEDOUT;
}

/* Split "http://HOST:PORT[/...]" (or "HOST:PORT") into host and port. */
static int parse_url(const char *url, char *host, size_t hsize, char *port, size_t psize)
{
    if (strncmp(url, "http://", 7) == 0)
        url += 7;
    else if (strstr(url, "://"))
        return -EINVAL;
    size_t end = strcspn(url, "/");
    char hp[300];
    if (end == 0 || end >= sizeof(hp))
        return -EINVAL;
    memcpy(hp, url, end);
    hp[end] = '\0';
    char *colon = strrchr(hp, ':');
    const char *h = hp;
    if (colon && (hp[0] != '[' || colon > strchr(hp, ']'))) {
        *colon = '\0';
        snprintf(port, psize, "%s", colon + 1);
    } else {
        snprintf(port, psize, "80");
    }
    if (h[0] == '[') {
        h++;
        char *rb = strchr(hp, ']');
        if (!rb)
            return -EINVAL;
        *rb = '\0';
    }
    if (!*h)
        return -EINVAL;
    /* a server listening on every address is reached on loopback */
    if (strcmp(h, "0.0.0.0") == 0)
        h = "127.0.0.1";
    else if (strcmp(h, "::") == 0)
        h = "::1";
    if (strlen(h) >= hsize)
        return -EINVAL;
    memcpy(host, h, strlen(h) + 1);
    int64_t p;
    return filter_parse_int(port, 1, 65535, &p);
}

static int check(const char *host, const char *port, int64_t deadline, char *why, size_t wsize)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    int g = getaddrinfo(host, port, &hints, &ai);
    if (g != 0) {
        snprintf(why, wsize, "cannot resolve %s: %s", host, gai_strerror(g));
        return -1;
    }
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai->ai_protocol);
    int r = -1;
    if (fd < 0) {
        snprintf(why, wsize, "socket: %s", strerror(errno));
        goto out;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
        snprintf(why, wsize, "cannot connect to %s:%s: %s", host, port, strerror(errno));
        goto out;
    }
    if (wait_fd(fd, POLLOUT, deadline) < 0) {
        snprintf(why, wsize, "timed out connecting to %s:%s", host, port);
        goto out;
    }
    int soerr = 0;
    socklen_t sl = sizeof(soerr);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
    if (soerr) {
        snprintf(why, wsize, "cannot connect to %s:%s: %s", host, port, strerror(soerr));
        goto out;
    }
    char req[400];
    int n = snprintf(req, sizeof(req),
                     "GET /_webhooky/health HTTP/1.0\r\nHost: %s:%s\r\nConnection: close\r\n\r\n",
                     host, port);
    if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
        snprintf(why, wsize, "cannot send the request: %s", strerror(errno));
        goto out;
    }
    char resp[4096];
    size_t got = 0;
    for (;;) {
        if (wait_fd(fd, POLLIN, deadline) < 0) {
            snprintf(why, wsize, "timed out waiting for the answer");
            goto out;
        }
        ssize_t k = recv(fd, resp + got, sizeof(resp) - 1 - got, 0);
        if (k < 0 && errno == EAGAIN)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
        if (got == sizeof(resp) - 1)
            break;
    }
    resp[got] = '\0';
    const char *body = strstr(resp, "\r\n\r\n");
    if (strncmp(resp, "HTTP/1.", 7) != 0 || strlen(resp) < 12 || strncmp(resp + 9, "200", 3) != 0) {
        if (got)
            snprintf(why, wsize, "answered '%.*s' instead of 200",
                     (int)(strcspn(resp, "\r\n") < 40 ? strcspn(resp, "\r\n") : 40), resp);
        else
            snprintf(why, wsize, "closed the connection without an answer");
        goto out;
    }
    if (!body || !strstr(body, "\"status\":\"ok\"")) {
        snprintf(why, wsize, "answered 200 without {\"status\":\"ok\"}");
        goto out;
    }
    r = 0;
out:
    if (fd >= 0)
        close(fd);
    freeaddrinfo(ai);
    return r;
}

static int run(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"url", required_argument, NULL, 'u'},
        {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    char fallback[320];
    snprintf(fallback, sizeof(fallback), "http://%s", cli_env("WEBHOOKY_LISTEN", "127.0.0.1:8787"));
    const char *url = fallback;
    int64_t timeout = 3000;
    int c;
    while ((c = cli_getopt(&cmd_health, argc, argv, "u:t:h", longopts)) != -1) {
        switch (c) {
        case 'u': url = optarg; break;
        case 't':
            if (!cli_parse_int(&cmd_health, "--timeout", optarg, 1, 600000, &timeout))
                return EXIT_USAGE;
            break;
        case 'h': fputs(cmd_health.usage, stdout); return EXIT_OK;
        default: return EXIT_USAGE;
        }
    }
    if (optind < argc)
        return cli_usage_error(&cmd_health, "unexpected argument '%s'", argv[optind]);
    char host[256], port[16];
    if (parse_url(url, host, sizeof(host), port, sizeof(port)) < 0)
        return cli_usage_error(&cmd_health, "--url must be http://HOST:PORT, not '%s'", url);
    char why[300] = "";
    if (check(host, port, now_ms() + timeout, why, sizeof(why)) < 0) {
        fprintf(stderr, "webhooky health: %s: %s\n", url, why);
        return EXIT_PROBLEM;
    }
    printf("ok\n");
    return EXIT_OK;
}
