/* run.c: helper programs with captured output (see run.h). */
#include "run.h"

#include "../lib/clock.h"
#include "../lib/vec.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* Starts r->path with its stdout (and stderr) on the write end w. */
static int spawn(const struct hnv_run *r, int w, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	int rc = posix_spawn_file_actions_init(&fa);
	if (rc)
		return -rc;
	rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (!rc)
		rc = posix_spawn_file_actions_adddup2(&fa, w, 1);
	if (!rc)
		rc = r->with_stderr
			     ? posix_spawn_file_actions_adddup2(&fa, w, 2)
			     : posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	if (!rc)
		rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	if (!rc)
		rc = posix_spawn(pid, r->path, &fa, NULL, (char *const *)r->argv,
				 r->envp ? (char *const *)r->envp : environ);
	posix_spawn_file_actions_destroy(&fa);
	return -rc;
}

/* Reads fd until EOF or the deadline into b (at most max bytes kept).
 * 0, -ETIMEDOUT or -errno. */
static int drain(int fd, int64_t deadline, size_t max, struct hnv_buf *b)
{
	for (;;) {
		int64_t left = deadline - hnv_mono_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			continue; /* the deadline is checked above */
		char buf[4096];
		ssize_t got = read(fd, buf, sizeof(buf));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return 0; /* EOF: the program closed its output */
		if (b->len < max)
			hnv_buf_append(b, buf,
				       (size_t)got < max - b->len ? (size_t)got : max - b->len);
	}
}

/* Waits for pid until the deadline, then kills it. Its wait status. */
static int reap(pid_t pid, int64_t deadline, bool kill_now)
{
	int st = 0;
	for (;;) {
		if (kill_now || hnv_mono_ms() >= deadline) {
			kill(pid, SIGKILL);
			while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
				;
			return st;
		}
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid || (w < 0 && errno != EINTR))
			return st;
		poll(NULL, 0, 5);
	}
}

int hnv_run(const struct hnv_run *r, char **out)
{
	*out = NULL;
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid_t pid;
	int rc = spawn(r, p[1], &pid);
	close(p[1]);
	if (rc < 0) {
		close(p[0]);
		return rc;
	}
	int64_t deadline = hnv_mono_ms() + r->timeout_ms;
	struct hnv_buf b = {0};
	rc = drain(p[0], deadline, r->max_out, &b);
	close(p[0]);
	int st = reap(pid, deadline, rc < 0);
	char *text = hnv_buf_take(&b);
	if (rc == 0 && text == NULL)
		rc = -ENOMEM;
	if (rc < 0) {
		free(text);
		return rc;
	}
	*out = text;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}
