/* credential_process: run a command, read its JSON credentials, honour
 * Expiration. The command runs with /bin/sh -c, stdin and stderr on
 * /dev/null (the library never prints, and the child does not print through
 * us either), stdout on a pipe read with a deadline. */
#include "credentials_process_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void reap(pid_t pid, int *status)
{
    while (waitpid(pid, status, 0) < 0 && errno == EINTR)
        ;
}

tp_status tp_credentials__run_process(const tp_credentials **out, const char *command,
                                      const tp_credentials_provider_options *o, tp_error *err)
{
    *out = NULL;
    if (!command || !*command)
        return tp_error__at(err, TP_E_CONFIG, TP_NO_OFFSET, "credential_process",
                            "credential_process is empty");
    int fds[2] = {-1, -1};
    tp_buf b;
    tp_buf_init(&b, o->alloc, 0);
    tp_status st = TP_OK;
    pid_t pid = -1;
    int spawned = 0, status = 0;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    int fa_live = 0, attr_live = 0;

    if (pipe2(fds, O_CLOEXEC) != 0) {
        st = tp_error__at(err, TP_E_IO, TP_NO_OFFSET, "credential_process",
                          "cannot create a pipe for credential_process: %s", strerror(errno));
        goto done;
    }
    if (posix_spawn_file_actions_init(&fa) != 0) {
        st = tp_error__set(err, TP_E_NOMEM, "out of memory starting credential_process");
        goto done;
    }
    fa_live = 1;
    if (posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0) != 0 ||
        posix_spawn_file_actions_adddup2(&fa, fds[1], 1) != 0 ||
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0) != 0) {
        st = tp_error__set(err, TP_E_NOMEM, "out of memory starting credential_process");
        goto done;
    }
    /* its own process group, so a timeout stops the command's children too */
    if (posix_spawnattr_init(&attr) != 0) {
        st = tp_error__set(err, TP_E_NOMEM, "out of memory starting credential_process");
        goto done;
    }
    attr_live = 1;
    if (posix_spawnattr_setpgroup(&attr, 0) != 0 ||
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP) != 0) {
        st = tp_error__set(err, TP_E_NOMEM, "out of memory starting credential_process");
        goto done;
    }
    char *argv[] = {(char *)"sh", (char *)"-c", (char *)(uintptr_t)command, NULL};
    int e = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, environ);
    if (e != 0) {
        st = tp_error__at(err, TP_E_IO, TP_NO_OFFSET, "credential_process",
                          "cannot start credential_process: %s", strerror(e));
        goto done;
    }
    spawned = 1;
    close(fds[1]);
    fds[1] = -1;

    size_t max = o->max_file_bytes > SIZE_MAX / 2 ? SIZE_MAX / 2 : (size_t)o->max_file_bytes;
    int64_t deadline = tp_time_mono_ns() + o->process_timeout_ms * INT64_C(1000000);
    for (;;) {
        int64_t left_ms = (deadline - tp_time_mono_ns()) / 1000000;
        if (left_ms <= 0) {
            st = tp_error__at(err, TP_E_TIMEOUT, TP_NO_OFFSET, "credential_process",
                              "credential_process did not finish within %lld ms",
                              (long long)o->process_timeout_ms);
            goto done;
        }
        struct pollfd pf = {fds[0], POLLIN, 0};
        int r = poll(&pf, 1, left_ms > 1000 ? 1000 : (int)left_ms);
        if (r < 0 && errno != EINTR) {
            st = tp_error__at(err, TP_E_IO, TP_NO_OFFSET, "credential_process",
                              "poll on credential_process output: %s", strerror(errno));
            goto done;
        }
        if (r <= 0)
            continue;
        if ((st = tp_buf_reserve(&b, 4096, err)) != TP_OK)
            goto done;
        ssize_t n = read(fds[0], b.ptr + b.len, 4096);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            st = tp_error__at(err, TP_E_IO, TP_NO_OFFSET, "credential_process",
                              "reading credential_process output: %s", strerror(errno));
            goto done;
        }
        if (n == 0)
            break;
        b.len += (size_t)n;
        if (b.len > max) {
            st = tp_error__at(err, TP_E_TOO_LARGE, TP_NO_OFFSET, "credential_process",
                              "credential_process wrote more than %zu bytes", max);
            goto done;
        }
    }
    /* output closed: wait for the exit, still within the deadline */
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid) {
            spawned = 0;
            break;
        }
        if (w < 0 && errno != EINTR) {
            st = tp_error__at(err, TP_E_IO, TP_NO_OFFSET, "credential_process",
                              "waiting for credential_process: %s", strerror(errno));
            goto done;
        }
        if (tp_time_mono_ns() >= deadline) {
            st = tp_error__at(err, TP_E_TIMEOUT, TP_NO_OFFSET, "credential_process",
                              "credential_process did not exit within %lld ms",
                              (long long)o->process_timeout_ms);
            goto done;
        }
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
    if (WIFSIGNALED(status)) {
        st = tp_error__at(err, TP_E_CREDENTIALS, TP_NO_OFFSET, "credential_process",
                          "credential_process was killed by signal %d", WTERMSIG(status));
        goto done;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        st = tp_error__at(err, TP_E_CREDENTIALS, TP_NO_OFFSET, "credential_process",
                          "credential_process exited with status %d (its error output is "
                          "discarded: run it by hand to see it)",
                          WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        goto done;
    }
    st = tp_credentials__from_json(out, tp_buf_cursor(&b), "credential_process output",
                                   TP_CREDENTIALS_JSON_VERSION1, o->alloc, err);
done:
    if (spawned) {
        kill(-pid, SIGKILL); /* the group we created for it */
        reap(pid, &status);
    }
    if (attr_live)
        posix_spawnattr_destroy(&attr);
    if (fa_live)
        posix_spawn_file_actions_destroy(&fa);
    if (fds[0] >= 0)
        close(fds[0]);
    if (fds[1] >= 0)
        close(fds[1]);
    tp_buf_dispose_secure(&b);
    return st;
}

/* ---- the process source -------------------------------------------------- */

typedef struct proc_src {
    tp_credentials_provider_options *opts;
    char command[];
} proc_src;

static tp_status process_fetch(void *payload, const tp_credentials **out, int64_t now_ms,
                               tp_error *err)
{
    (void)now_ms;
    proc_src *p = payload;
    return tp_credentials__run_process(out, p->command, p->opts, err);
}

static void process_destroy(void *payload)
{
    proc_src *p = payload;
    if (!p)
        return;
    const tp_allocator *a = p->opts->alloc;
    tp__free(a, p->opts);
    tp__free(a, p);
}

tp_status tp_credentials_provider_new_process(tp_credentials_provider **out, const char *command,
                                              const tp_credentials_provider_options *opts,
                                              tp_error *err)
{
    size_t n = command ? strlen(command) + 1 : 0; /* with its NUL */
    tp_credentials_provider_options o;
    tp_status st = tp_credentials__provider_opts(out, &o, opts, err);
    if (st == TP_OK && n <= 1)
        st = tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "command", "no command to run");
    if (st == TP_OK && n > SIZE_MAX / 2)
        st = tp_error__set(err, TP_E_TOO_LARGE, "command too long");
    if (st != TP_OK)
        return st;
    proc_src *p = tp__malloc(o.alloc, sizeof *p + n);
    if (!p)
        return tp_error__set(err, TP_E_NOMEM, "out of memory creating a process provider");
    memcpy(p->command, command, n);
    p->opts = tp_credentials__opts_dup(&o, err);
    if (!p->opts) {
        tp__free(o.alloc, p);
        return err ? err->code : TP_E_NOMEM;
    }
    static const tp_credentials_source src = {TP_CREDENTIALS_SOURCE_VERSION, 0, "process",
                                              process_fetch, process_destroy};
    return tp_credentials_provider_new_custom(out, &src, p, &o, err);
}
