// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The vfio-reserve authors.
 *
 * attach, detach: hotplug into a running QEMU over its QMP socket. QMP
 * answers one JSON object per line; requests are built and answers parsed
 * with json-c, so any id or bus name goes through escaped and whole.
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

/* One line of QMP as a JSON object; NULL (and @err) when it is not one. */
static struct json_object *vr_qmp_parse(const char *line, size_t len,
					char *err, size_t size)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *msg;
	enum json_tokener_error e;

	if (!tok) {
		snprintf(err, size, "out of memory");
		return NULL;
	}
	msg = json_tokener_parse_ex(tok, line, (int)len);
	e = json_tokener_get_error(tok);
	json_tokener_free(tok);
	if (!msg || e != json_tokener_success ||
	    !json_object_is_type(msg, json_type_object)) {
		snprintf(err, size, "QEMU sent a QMP line that is not a JSON object (%s): %.200s",
			 msg ? "not an object" : json_tokener_error_desc(e), line);
		json_object_put(msg);
		return NULL;
	}
	return msg;
}

/*
 * The next message from QEMU, parsed (json-c); NULL on timeout, EOF, or a
 * line that is not a JSON object (@err says which).
 */
static struct json_object *vr_qmp_next(struct vr_qmp *q, long deadline,
				       char *err, size_t size)
{
	for (;;) {
		char *nl = memchr(q->buf, '\n', q->len);
		struct pollfd p = { .fd = q->fd, .events = POLLIN };
		long left = deadline - vr_now_ms();
		struct json_object *msg;
		ssize_t n;

		if (nl) {
			size_t l = (size_t)(nl - q->buf) + 1;

			msg = vr_qmp_parse(q->buf, l, err, size);
			memmove(q->buf, q->buf + l, q->len - l);
			q->len -= l;
			return msg;
		}
		if (q->len == sizeof(q->buf)) {
			snprintf(err, size, "a QMP message longer than %zu bytes",
				 sizeof(q->buf));
			return NULL;
		}
		if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
			snprintf(err, size, "no answer from QEMU in %d s",
				 VR_QMP_TIMEOUT_MS / 1000);
			return NULL;
		}
		n = read(q->fd, q->buf + q->len, sizeof(q->buf) - q->len);
		if (n <= 0) {
			snprintf(err, size, "QEMU closed the QMP socket");
			return NULL;
		}
		q->len += (size_t)n;
	}
}

/* @msg's string member @key (in @obj if given), or NULL. */
static const char *vr_qmp_str(struct json_object *msg, const char *obj,
			      const char *key)
{
	struct json_object *v;

	if (obj && !json_object_object_get_ex(msg, obj, &msg))
		return NULL;
	if (!json_object_object_get_ex(msg, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/*
 * Run @cmd (consumed): {"execute": @cmd, "arguments": @args, "id": @id}.
 * Its reply, matched by id, decides: "return" is success, "error" gives
 * QEMU's description.
 */
static int vr_qmp_exec(struct vr_qmp *q, const char *execute,
		       struct json_object *args, const char *id, char *err,
		       size_t size)
{
	long deadline = vr_now_ms() + VR_QMP_TIMEOUT_MS;
	struct json_object *cmd = json_object_new_object(), *msg;
	const char *text;
	int ret = -ETIMEDOUT;

	if (!cmd || json_object_object_add(cmd, "execute",
					   json_object_new_string(execute)) ||
	    (args && json_object_object_add(cmd, "arguments", args)) ||
	    json_object_object_add(cmd, "id", json_object_new_string(id))) {
		json_object_put(cmd);
		snprintf(err, size, "out of memory");
		return -ENOMEM;
	}
	text = json_object_to_json_string_ext(cmd, JSON_C_TO_STRING_PLAIN);
	if (!text || dprintf(q->fd, "%s\n", text) < 0) {
		snprintf(err, size, "cannot write to QMP: %s", strerror(errno));
		json_object_put(cmd);
		return -EIO;
	}
	json_object_put(cmd);
	while ((msg = vr_qmp_next(q, deadline, err, size))) {
		const char *got = vr_qmp_str(msg, NULL, "id");

		if (got && !strcmp(got, id)) {	/* else an event, or another's */
			if (json_object_object_get_ex(msg, "return", NULL)) {
				ret = 0;
			} else {
				const char *desc = vr_qmp_str(msg, "error", "desc");

				snprintf(err, size, "%s", desc ? desc :
					 json_object_to_json_string(msg));
				ret = -EINVAL;
			}
			json_object_put(msg);
			return ret;
		}
		json_object_put(msg);
	}
	return -ETIMEDOUT;
}

static int vr_qmp_open(struct vr_qmp *q, const char *path, char *err,
		       size_t size)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct json_object *hello;
	bool qmp;

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
	hello = vr_qmp_next(q, vr_now_ms() + VR_QMP_TIMEOUT_MS, err, size);
	qmp = hello && json_object_object_get_ex(hello, "QMP", NULL);
	json_object_put(hello);
	if (!qmp) {
		snprintf(err, size, "%s did not greet with QMP (another client may hold it)",
			 path);
		close(q->fd);
		return -EPROTO;
	}
	return vr_qmp_exec(q, "qmp_capabilities", NULL, "vr-caps", err, size);
}

/* "attach --qmp SOCKET ADDRESS [--id ID] [--bus BUS]" or "detach --qmp SOCKET ID" */
struct vr_qmp_args {
	const char *sock;
	const char *target;	/* address to attach, or id to detach */
	const char *id;
	const char *bus;
};

static int vr_qmp_args(const struct vr_opts *o, const char *cmd, int argc,
		       char **argv, struct vr_qmp_args *a)
{
	bool attach = !strcmp(cmd, "attach");

	memset(a, 0, sizeof(*a));
	a->sock = o->qmp;
	a->id = o->id;
	a->bus = o->bus;
	if (argc > 2)
		return vr_usage_error(cmd, "one %s only: '%s' is one too many",
				      attach ? "address" : "device id", argv[2]);
	if (argc == 2)
		a->target = argv[1];
	if (!a->sock || !a->target)
		return vr_usage_error(cmd, "--qmp SOCKET and the %s are required",
				      attach ? "address" : "device id");
	return VR_EXIT_OK;
}

int vr_cmd_attach(const struct vr_opts *o, int argc, char **argv)
{
	char addr[1][VR_ADDR_SIZE], defid[64], err[1024];
	struct json_object *args;
	struct vr_facts f;
	const char *id;
	struct vr_qmp_args a;
	struct vr_qmp q;
	int ret;

	ret = vr_qmp_args(o, "attach", argc, argv, &a);
	if (ret)
		return ret;
	if (!vr_normalize_addr(a.target, addr[0]))
		return vr_usage_error("attach", "'%s' is not a PCI address ([dddd:]bb:ss.f)",
				      a.target);
	vr_qemu_id(addr[0], defid, sizeof(defid));
	id = a.id ? a.id : defid;
	ret = vr_nl_fetch("attach", VR_WANT_DEVICES | VR_WANT_GROUPS, &f);
	if (ret)
		return ret;
	if (!vr_preflight(o, addr, 1, &f)) {
		vr_facts_free(&f);
		vr_err("preflight failed: %s not attached", addr[0]);
		return VR_EXIT_FAIL;
	}
	vr_facts_free(&f);
	if (vr_qmp_open(&q, a.sock, err, sizeof(err))) {
		vr_err("attach: %s", err);
		return VR_EXIT_FAIL;
	}
	/* QEMU's vfio-pci device takes any vfio-pci-core driver's device */
	args = json_object_new_object();
	if (!args || json_object_object_add(args, "driver", json_object_new_string("vfio-pci")) ||
	    json_object_object_add(args, "host", json_object_new_string(addr[0])) ||
	    json_object_object_add(args, "id", json_object_new_string(id)) ||
	    (a.bus && json_object_object_add(args, "bus", json_object_new_string(a.bus)))) {
		json_object_put(args);
		close(q.fd);
		vr_err("attach: out of memory");
		return VR_EXIT_FAIL;
	}
	ret = vr_qmp_exec(&q, "device_add", args, "vr-add", err, sizeof(err));
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
	struct json_object *args, *msg;
	struct vr_qmp_args a;
	char err[1024];
	struct vr_qmp q;
	const char *id;
	long deadline;
	int ret;

	ret = vr_qmp_args(o, "detach", argc, argv, &a);
	if (ret)
		return ret;
	id = a.target;
	if (vr_qmp_open(&q, a.sock, err, sizeof(err))) {
		vr_err("detach: %s", err);
		return VR_EXIT_FAIL;
	}
	args = json_object_new_object();
	if (!args || json_object_object_add(args, "id", json_object_new_string(id))) {
		json_object_put(args);
		close(q.fd);
		vr_err("detach: out of memory");
		return VR_EXIT_FAIL;
	}
	ret = vr_qmp_exec(&q, "device_del", args, "vr-del", err, sizeof(err));
	if (ret) {
		close(q.fd);
		vr_err("detach %s: QEMU refused: %s", id, err);
		return VR_EXIT_FAIL;
	}
	/* device_del only asks the guest; DEVICE_DELETED says it is done. */
	deadline = vr_now_ms() + VR_DETACH_TIMEOUT_MS;
	while ((msg = vr_qmp_next(&q, deadline, err, sizeof(err)))) {
		const char *ev = vr_qmp_str(msg, NULL, "event");
		const char *dev = vr_qmp_str(msg, "data", "device");
		bool done = ev && dev && !strcmp(ev, "DEVICE_DELETED") &&
			    !strcmp(dev, id);

		json_object_put(msg);
		if (done) {
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
