/* The status-poll baseline: the least a libfcgi responder can do.
 *
 * Answers each request whose REQUEST_URI is in its table with the bytes of a
 * file captured from exportd (CGI headers and body, exactly as exportd wrote
 * them to FastCGI stdout), and anything else with a 404. Like exportd it binds
 * its own unix socket (mode 0660, group GID) and runs THREADS workers in the
 * FCGX_Accept_r / FCGX_Finish_r loop of libfcgi's examples/threaded.c, so the
 * difference between the two is what exportd does per request.
 *
 *   fcgi_responder SOCKET GID THREADS URI=FILE [URI=FILE...]
 * Runs until SIGTERM/SIGINT.
 */
#include <fcgiapp.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

struct route {
    const char *uri;
    char *bytes;
    size_t size;
};

static struct route *routes;
static int nroutes;
static int listen_fd;

static const char NOT_FOUND[] = "Status: 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\nnot found\n";

static char *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        perror(path);
        exit(2);
    }
    fclose(f);
    *size = (size_t)n;
    return buf;
}

static void *serve(void *arg)
{
    (void)arg;
    FCGX_Request req;
    FCGX_InitRequest(&req, listen_fd, 0);
    while (FCGX_Accept_r(&req) >= 0) {
        const char *uri = FCGX_GetParam("REQUEST_URI", req.envp);
        const struct route *hit = NULL;
        for (int i = 0; uri && i < nroutes; ++i)
            if (strcmp(uri, routes[i].uri) == 0) {
                hit = &routes[i];
                break;
            }
        if (hit)
            FCGX_PutStr(hit->bytes, (int)hit->size, req.out);
        else
            FCGX_PutStr(NOT_FOUND, (int)sizeof NOT_FOUND - 1, req.out);
        FCGX_Finish_r(&req);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: %s SOCKET GID THREADS URI=FILE [URI=FILE...]\n", argv[0]);
        return 2;
    }
    const char *path = argv[1];
    const int gid = atoi(argv[2]);
    const int threads = atoi(argv[3]);
    nroutes = argc - 4;
    routes = calloc((size_t)nroutes, sizeof *routes);
    for (int i = 0; i < nroutes; ++i) {
        char *eq = strrchr(argv[4 + i], '='); /* URIs may hold "=", file paths do not */
        if (!eq) {
            fprintf(stderr, "bad route %s\n", argv[4 + i]);
            return 2;
        }
        *eq = '\0';
        routes[i].uri = argv[4 + i];
        routes[i].bytes = slurp(eq + 1, &routes[i].size);
    }

    FCGX_Init();
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    strncpy(addr.sun_path, path, sizeof addr.sun_path - 1);
    unlink(path);
    listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        chmod(path, 0660) != 0 || (gid >= 0 && chown(path, (uid_t)-1, (gid_t)gid) != 0) ||
        listen(listen_fd, 1024) != 0) {
        perror(path);
        return 1;
    }

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    for (int i = 0; i < threads; ++i) {
        pthread_t t;
        pthread_create(&t, NULL, serve, NULL);
        pthread_detach(t);
    }
    int sig = 0;
    sigwait(&set, &sig);
    unlink(path);
    return 0;
}
