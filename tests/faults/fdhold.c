/* fdhold.c - holds copies of another process's open files, as lsof,
 * ss -p, a debugger or a forked child can: with a copy held elsewhere,
 * the owner's close() no longer ends the file, its socket or its epoll
 * registration (epoll(7), "Questions and answers" 6).
 *
 *	fdhold PID MINFD
 *
 * takes a copy (pidfd_getfd, Linux 5.6) of every descriptor of PID
 * numbered MINFD or more, prints "held N", keeps the copies until its
 * standard input ends, then closes them and exits. Needs the right to
 * ptrace PID (the same user, or root). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	char path[64], b[256];
	struct dirent *e;
	DIR *d;
	long held = 0;
	int pidfd;

	if (argc != 3) {
		fprintf(stderr, "usage: fdhold PID MINFD\n");
		return 2;
	}
	snprintf(path, sizeof(path), "/proc/%s/fd", argv[1]);
	if ((pidfd = (int)syscall(SYS_pidfd_open, atoi(argv[1]), 0)) < 0 ||
	    (d = opendir(path)) == NULL) {
		perror(argv[1]);
		return 1;
	}
	while ((e = readdir(d)) != NULL) {
		int fd = atoi(e->d_name);
		if (e->d_name[0] == '.' || fd < atoi(argv[2]))
			continue;
		if (syscall(SYS_pidfd_getfd, pidfd, fd, 0) >= 0)
			held++;
		else if (errno == EPERM) {
			fprintf(stderr, "fdhold: may not copy the descriptors "
			    "of %s (ptrace access: run as root, or as its "
			    "user with kernel.yama.ptrace_scope=0)\n", argv[1]);
			return 1;
		}
	}
	closedir(d);
	printf("held %ld\n", held);
	fflush(stdout);
	while (read(0, b, sizeof(b)) > 0)
		;
	return 0;   /* exit closes the copies */
}
