// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The vfio-reserve authors.
 *
 * attach, detach: hotplug into a running QEMU over its QMP socket. QMP
 * answers one JSON object per line; QEMU's own formatting ("key": value)
 * is all this reader relies on.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "qemu.h"

#define VR_QMP_TIMEOUT_MS	10000
#define VR_DETACH_TIMEOUT_MS	30000

struct vr_qmp {
	int fd;
	char buf[65536];
	size_t len;
};

static long vr_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The next line from QEMU into @line; false on timeout or EOF. */
static bool vr_qmp_line(struct vr_qmp *q, char *line, size_t size, long deadline)
{
	for (;;) {
		char *nl = memchr(q->buf, '\n', q->len);
		struct pollfd p = { .fd = q->fd, .events = POLLIN };
		long left = deadline - vr_now_ms();
		ssize_t n;

		if (nl) {
			size_t l = (size_t)(nl - q->buf) + 1;

			snprintf(line, size, "%.*s", (int)(l - 1), q->buf);
			memmove(q->buf, q->buf + l, q->len - l);
			q->len -= l;
			return true;
		}
		if (left <= 0 || q->len == sizeof(q->buf) ||
		    poll(&p, 1, (int)left) <= 0)
			return false;
		n = read(q->fd, q->buf + q->len, sizeof(q->buf) - q->len);
		if (n <= 0)
			return false;
		q->len += (size_t)n;
	}
}

/* The "desc" of an error reply. */
static void vr_qmp_desc(const char *line, char *desc, size_t size)
{
	const char *p = strstr(line, "\"desc\": \"");

	if (!p) {
		snprintf(desc, size, "%.400s", line);
		return;
	}
	p += 9;
	snprintf(desc, size, "%.*s", (int)strcspn(p, "\""), p);
}

/* Run one command; its reply (matched by id) decides. */
static int vr_qmp_exec(struct vr_qmp *q, const char *cmd, const char *id,
		       char *err, size_t size)
{
	char line[8192], want[64];
	long deadline = vr_now_ms() + VR_QMP_TIMEOUT_MS;

	if (dprintf(q->fd, "%s\n", cmd) < 0) {
		snprintf(err, size, "cannot write to QMP: %s", strerror(errno));
		return -EIO;
	}
	snprintf(want, sizeof(want), "\"id\": \"%s\"", id);
	while (vr_qmp_line(q, line, sizeof(line), deadline)) {
		if (!strstr(line, want))
			continue;	/* an event, or someone else's */
		if (strstr(line, "\"return\"") == line + 1)
			return 0;
		vr_qmp_desc(line, err, size);
		return -EINVAL;
	}
	snprintf(err, size, "no answer from QEMU in %d s", VR_QMP_TIMEOUT_MS / 1000);
	return -ETIMEDOUT;
}

static int vr_qmp_open(struct vr_qmp *q, const char *path, char *err,
		       size_t size)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char line[4096];

	q->len = 0;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, size, "socket path too long");
		return -EINVAL;
	}
	strcpy(sa.sun_path, path);
	q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (q->fd < 0 || connect(q->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		snprintf(err, size, "cannot connect to %s: %s (is QEMU running with -qmp unix:%s,server=on,wait=off, and no other QMP client attached?)",
			 path, strerror(errno), path);
		if (q->fd >= 0)
			close(q->fd);
		return -errno;
	}
	if (!vr_qmp_line(q, line, sizeof(line), vr_now_ms() + VR_QMP_TIMEOUT_MS) ||
	    !strstr(line, "\"QMP\"")) {
		snprintf(err, size, "%s did not greet with QMP (another client may hold it)",
			 path);
		close(q->fd);
		return -EPROTO;
	}
	return vr_qmp_exec(q, "{\"execute\": \"qmp_capabilities\", \"id\": \"vr-caps\"}",
			   "vr-caps", err, size);
}

/* "attach --qmp SOCKET ADDRESS [--id ID]" or "detach --qmp SOCKET ID" */
struct vr_qmp_args {
	const char *sock;
	const char *target;	/* address to attach, or id to detach */
	const char *id;
	const char *bus;
};

static int vr_qmp_args(const char *cmd, int argc, char **argv,
		       struct vr_qmp_args *a)
{
	bool attach = !strcmp(cmd, "attach");
	int i;

	memset(a, 0, sizeof(*a));
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--qmp") && i + 1 < argc)
			a->sock = argv[++i];
		else if (attach && !strcmp(argv[i], "--id") && i + 1 < argc)
			a->id = argv[++i];
		else if (attach && !strcmp(argv[i], "--bus") && i + 1 < argc)
			a->bus = argv[++i];
		else if (argv[i][0] == '-' || a->target)
			return vr_usage_error(cmd, "unexpected '%s'", argv[i]);
		else
			a->target = argv[i];
	}
	if (!a->sock || !a->target)
		return vr_usage_error(cmd, "--qmp SOCKET and the %s are required",
				      attach ? "address" : "device id");
	return VR_EXIT_OK;
}

int vr_cmd_attach(const struct vr_opts *o, int argc, char **argv)
{
	char addr[1][VR_ADDR_SIZE], id[64], bus[96], cmd[512], err[512];
	struct vr_check_facts f;
	struct vr_qmp_args a;
	struct vr_qmp q;
	int ret;

	ret = vr_qmp_args("attach", argc, argv, &a);
	if (ret)
		return ret;
	if (!vr_normalize_addr(a.target, addr[0]))
		return vr_usage_error("attach", "'%s' is not a PCI address ([dddd:]bb:ss.f)",
				      a.target);
	if (a.id)
		snprintf(id, sizeof(id), "%s", a.id);
	else
		vr_qemu_id(addr[0], id, sizeof(id));
	ret = vr_check_facts(&f);
	if (ret)
		return ret;
	if (!vr_preflight(o, addr, 1, &f)) {
		vr_check_facts_free(&f);
		vr_err("preflight failed: %s not attached", addr[0]);
		return VR_EXIT_FAIL;
	}
	vr_check_facts_free(&f);
	if (vr_qmp_open(&q, a.sock, err, sizeof(err))) {
		vr_err("attach: %s", err);
		return VR_EXIT_FAIL;
	}
	bus[0] = '\0';
	if (a.bus)
		snprintf(bus, sizeof(bus), ", \"bus\": \"%.64s\"", a.bus);
	snprintf(cmd, sizeof(cmd),
		 "{\"execute\": \"device_add\", \"arguments\": {\"driver\": \"vfio-pci\", \"host\": \"%s\", \"id\": \"%s\"%s}, \"id\": \"vr-add\"}",
		 addr[0], id, bus);
	ret = vr_qmp_exec(&q, cmd, "vr-add", err, sizeof(err));
	close(q.fd);
	if (ret) {
		vr_err("attach %s: QEMU refused: %s%s", addr[0], err,
		       strstr(err, "hotplug") ? " (name a hotplug-capable bus, e.g. a pcie-root-port, with --bus)" : "");
		return VR_EXIT_FAIL;
	}
	printf("%s: attached as %s\n", addr[0], id);
	return VR_EXIT_OK;
}

int vr_cmd_detach(const struct vr_opts *o, int argc, char **argv)
{
	char cmd[256], err[512], line[8192], want[96];
	struct vr_qmp_args a;
	struct vr_qmp q;
	const char *id;
	long deadline;
	int ret;

	(void)o;
	ret = vr_qmp_args("detach", argc, argv, &a);
	if (ret)
		return ret;
	id = a.target;
	if (vr_qmp_open(&q, a.sock, err, sizeof(err))) {
		vr_err("detach: %s", err);
		return VR_EXIT_FAIL;
	}
	snprintf(cmd, sizeof(cmd),
		 "{\"execute\": \"device_del\", \"arguments\": {\"id\": \"%s\"}, \"id\": \"vr-del\"}",
		 id);
	ret = vr_qmp_exec(&q, cmd, "vr-del", err, sizeof(err));
	if (ret) {
		close(q.fd);
		vr_err("detach %s: QEMU refused: %s", id, err);
		return VR_EXIT_FAIL;
	}
	/* device_del only asks the guest; DEVICE_DELETED says it is done. */
	snprintf(want, sizeof(want), "\"device\": \"%s\"", id);
	deadline = vr_now_ms() + VR_DETACH_TIMEOUT_MS;
	while (vr_qmp_line(&q, line, sizeof(line), deadline)) {
		if (strstr(line, "\"DEVICE_DELETED\"") && strstr(line, want)) {
			close(q.fd);
			printf("%s: detached\n", id);
			return VR_EXIT_OK;
		}
	}
	close(q.fd);
	vr_err("detach %s: no DEVICE_DELETED in %d s: the guest did not let the device go (is its OS handling PCI hotplug?)",
	       id, VR_DETACH_TIMEOUT_MS / 1000);
	return VR_EXIT_FAIL;
}
