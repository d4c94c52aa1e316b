// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The vfio-reserve authors.
 *
 * attach, detach: hotplug into a running QEMU over its QMP socket. QMP
 * answers one JSON object per line; requests are built and answers parsed
 * with json-c, so any id or bus name goes through escaped and whole.
 */
#define _GNU_SOURCE	/* struct ucred */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
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
		       struct json_object *args, const char *id,
		       struct json_object **reply, char *err, size_t size)
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
			struct json_object *r;

			if (json_object_object_get_ex(msg, "return", &r)) {
				if (reply)
					*reply = json_object_get(r);
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
	return vr_qmp_exec(q, "qmp_capabilities", NULL, "vr-caps", NULL, err,
			   size);
}

/* A "Name: v1 v2 ..." line of /proc/@pid/@file, its text after the colon. */
static bool vr_proc_field(const struct vr_opts *o, pid_t pid, const char *file,
			  const char *name, char *buf, size_t size)
{
	char path[PATH_MAX], line[512];
	size_t len = strlen(name);
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%d/%s", o->proc, (int)pid, file);
	f = fopen(path, "re");
	while (f && !found && fgets(line, sizeof(line), f))
		if (!strncmp(line, name, len)) {
			snprintf(buf, size, "%s", line + len + strspn(line + len, ": \t"));
			buf[strcspn(buf, "\n")] = '\0';
			found = true;
		}
	if (f)
		fclose(f);
	return found;
}

/* May the process @pid (uid @uid) open @node read-write, by its mode? */
static bool vr_may_open(const struct vr_opts *o, pid_t pid, uid_t uid,
			const char *node, char *why, size_t size)
{
	char groups[512], *p, *end;
	struct stat st;
	bool member = false;

	if (stat(node, &st)) {
		snprintf(why, size, "%s", strerror(errno));
		return false;
	}
	if (st.st_uid == uid) {
		if ((st.st_mode & 0600) == 0600)
			return true;
		snprintf(why, size, "its owner lacks rw: mode %04o",
			 st.st_mode & 07777);
		return false;
	}
	/* its groups: the effective gid (Gid's second) and the supplementary */
	if (vr_proc_field(o, pid, "status", "Gid", groups, sizeof(groups))) {
		strtoul(groups, &p, 10);
		member = strtoul(p, &end, 10) == st.st_gid && end != p;
	}
	if (!member && vr_proc_field(o, pid, "status", "Groups", groups, sizeof(groups)))
		for (p = groups; *p && !member; p = end) {
			unsigned long g = strtoul(p, &end, 10);

			if (end == p)
				break;
			member = g == st.st_gid;
		}
	if (member ? (st.st_mode & 0060) == 0060 : (st.st_mode & 0006) == 0006)
		return true;
	snprintf(why, size, "owner %u, group %u, mode %04o", (unsigned int)st.st_uid,
		 (unsigned int)st.st_gid, st.st_mode & 07777);
	return false;
}

/*
 * Can the QEMU behind @q (the socket's peer: SO_PEERCRED) take @d? Its
 * own locked-memory limit must cover its guest's RAM (query-memory-size-
 * summary) and the margin, and its uid open the group's node. Root (with
 * CAP_IPC_LOCK) passes both. Said, and false, when it cannot, or when it
 * cannot be told (fails closed).
 */
static bool vr_qemu_can_take(const struct vr_opts *o, struct vr_qmp *q,
			     const struct vr_device *d, bool iommufd)
{
	unsigned long long ram = 0, lock = 0;
	struct json_object *r = NULL, *v;
	char node[PATH_MAX], why[256], lim[256], err[256];
	socklen_t len = sizeof(struct ucred);
	struct ucred cr;
	bool ok = true;

	if (getsockopt(q->fd, SOL_SOCKET, SO_PEERCRED, &cr, &len)) {
		vr_err("attach: whose QEMU is it? SO_PEERCRED: %s", strerror(errno));
		return false;
	}
	if (!cr.uid)
		return true;
	if (vr_qmp_exec(q, "query-memory-size-summary", NULL, "vr-mem", &r,
			err, sizeof(err))) {
		vr_err("attach: QEMU (pid %d) does not say its guest's memory: %s",
		       (int)cr.pid, err);
		return false;
	}
	if (json_object_object_get_ex(r, "base-memory", &v))
		ram += (unsigned long long)json_object_get_int64(v);
	if (json_object_object_get_ex(r, "plugged-memory", &v))
		ram += (unsigned long long)json_object_get_int64(v);
	json_object_put(r);
	if (!vr_proc_field(o, cr.pid, "limits", "Max locked memory", lim, sizeof(lim))) {
		vr_err("attach: cannot read QEMU's limits (%s/%d/limits): run as root",
		       o->proc, (int)cr.pid);
		return false;
	}
	if (strncmp(lim, "unlimited", 9)) {
		lock = strtoull(lim, NULL, 10);
		if (lock < ram + VR_MEMLOCK_MARGIN) {
			vr_err("attach: QEMU (pid %d, uid %u) may lock %llu MiB, but VFIO pins its guest's %llu MiB and %llu MiB more: raise its memlock (LimitMEMLOCK= of its unit, /etc/security/limits.conf, or libvirt's <memtune><hard_limit>)",
			       (int)cr.pid, (unsigned int)cr.uid, lock / VR_MIB,
			       ram / VR_MIB, VR_MEMLOCK_MARGIN / VR_MIB);
			ok = false;
		}
	}
	if (iommufd) {
		snprintf(node, sizeof(node), "%s/iommu", o->dev);
		if (!vr_may_open(o, cr.pid, cr.uid, node, why, sizeof(why))) {
			vr_err("attach: QEMU (pid %d, uid %u) cannot open %s (%s): give its user /dev/iommu (a udev rule, or chown)",
			       (int)cr.pid, (unsigned int)cr.uid, node, why);
			ok = false;
		}
		vr_iommufd_cdev(o, d, node, sizeof(node));
	} else {
		snprintf(node, sizeof(node), "%s/vfio/%u", o->dev, d->group);
	}
	if (d->has_group && !vr_may_open(o, cr.pid, cr.uid, node, why, sizeof(why))) {
		vr_err("attach: QEMU (pid %d, uid %u) cannot open %s (%s): give its user the %s (a udev rule, or chown) and start it again",
		       (int)cr.pid, (unsigned int)cr.uid, node, why,
		       iommufd ? "device's cdev" : "group's node");
		ok = false;
	}
	return ok;
}

/* Does the QMP list @list (of {"name": ...}) have @name? */
static bool vr_qmp_has(struct json_object *list, const char *name)
{
	size_t i, n = json_object_is_type(list, json_type_array) ?
		      json_object_array_length(list) : 0;

	for (i = 0; i < n; i++) {
		const char *s = vr_qmp_str(json_object_array_get_idx(list, i),
					   NULL, "name");

		if (s && !strcmp(s, name))
			return true;
	}
	return false;
}

/*
 * Through iommufd (attach --iommufd): QEMU's iommufd object, made by qemu
 * --iommufd or by an earlier attach, or added now. A QEMU without the
 * object type (before 9.0) refuses the object-add. (Not qom-list-types:
 * it loads every module QEMU has.) Return: 0, -ENOTSUP for a QEMU without
 * iommufd, or another error; why in @err.
 */
static int vr_qmp_iommufd(struct vr_qmp *q, char *err, size_t size)
{
	struct json_object *r = NULL, *args;
	bool has;

	args = json_object_new_object();
	if (!args || json_object_object_add(args, "path", json_object_new_string("/objects"))) {
		json_object_put(args);
		snprintf(err, size, "out of memory");
		return -ENOMEM;
	}
	if (vr_qmp_exec(q, "qom-list", args, "vr-objects", &r, err, size))
		return -EIO;
	has = vr_qmp_has(r, VR_IOMMUFD_ID);
	json_object_put(r);
	if (has)
		return 0;
	args = json_object_new_object();
	if (!args || json_object_object_add(args, "qom-type", json_object_new_string("iommufd")) ||
	    json_object_object_add(args, "id", json_object_new_string(VR_IOMMUFD_ID))) {
		json_object_put(args);
		snprintf(err, size, "out of memory");
		return -ENOMEM;
	}
	if (!vr_qmp_exec(q, "object-add", args, "vr-iommufd", NULL, err, size))
		return 0;
	if (!strstr(err, "iommufd"))	/* "invalid object type: iommufd" */
		return -EIO;
	snprintf(err, size, "this QEMU has no iommufd object (QEMU 9.0 or later has it)");
	return -ENOTSUP;
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
	struct vr_device d;
	struct vr_facts f;
	const char *id;
	struct vr_qmp_args a;
	struct vr_qmp q;
	bool iommufd;
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
	/* --iommufd: the kernel's side first; =auto decides quietly */
	iommufd = o->iommufd != VR_IOMMUFD_NO &&
		  vr_iommufd_preflight(o, addr, 1, &f, o->iommufd == VR_IOMMUFD_AUTO);
	d = *vr_find_device(f.devs, f.n, addr[0]);	/* preflight found it */
	vr_facts_free(&f);
	if (o->iommufd == VR_IOMMUFD_YES && !iommufd) {
		vr_err("preflight failed: %s not attached", addr[0]);
		return VR_EXIT_FAIL;
	}
	if (vr_qmp_open(&q, a.sock, err, sizeof(err))) {
		vr_err("attach: %s", err);
		return VR_EXIT_FAIL;
	}
	/* QEMU's own limits and rights, not the caller's */
	if (!vr_qemu_can_take(o, &q, &d, iommufd)) {
		close(q.fd);
		vr_err("preflight failed: %s not attached", addr[0]);
		return VR_EXIT_FAIL;
	}
	if (iommufd) {
		ret = vr_qmp_iommufd(&q, err, sizeof(err));
		/* auto: a QEMU without iommufd takes the group */
		if (ret == -ENOTSUP && o->iommufd == VR_IOMMUFD_AUTO &&
		    vr_qemu_can_take(o, &q, &d, false)) {
			iommufd = false;
		} else if (ret) {
			close(q.fd);
			vr_err("attach %s --iommufd: %s", addr[0], err);
			return VR_EXIT_FAIL;
		}
	}
	if (o->iommufd == VR_IOMMUFD_AUTO)
		fprintf(stderr, "vfio-reserve: --iommufd=auto: through %s\n",
			iommufd ? "iommufd" : "the IOMMU group (/dev/vfio/N)");
	/* QEMU's vfio-pci device takes any vfio-pci-core driver's device */
	args = json_object_new_object();
	if (!args || json_object_object_add(args, "driver", json_object_new_string("vfio-pci")) ||
	    json_object_object_add(args, "host", json_object_new_string(addr[0])) ||
	    json_object_object_add(args, "id", json_object_new_string(id)) ||
	    (iommufd && json_object_object_add(args, "iommufd",
					       json_object_new_string(VR_IOMMUFD_ID))) ||
	    (a.bus && json_object_object_add(args, "bus", json_object_new_string(a.bus)))) {
		json_object_put(args);
		close(q.fd);
		vr_err("attach: out of memory");
		return VR_EXIT_FAIL;
	}
	ret = vr_qmp_exec(&q, "device_add", args, "vr-add", NULL, err,
			  sizeof(err));
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
	ret = vr_qmp_exec(&q, "device_del", args, "vr-del", NULL, err,
			  sizeof(err));
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
