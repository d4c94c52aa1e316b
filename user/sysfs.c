// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The vfio-reserve authors.
 *
 * Facts read from sysfs and procfs, and the few writes the helper makes.
 */
#define _GNU_SOURCE	/* pipe2() */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "selector.h"
#include "vfio-reserve.h"

/* The first line of @path, without its newline. */
int vr_read_line(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");
	int ret = 0;

	buf[0] = '\0';
	if (!f)
		return -errno;
	if (!fgets(buf, (int)size, f))
		ret = ferror(f) ? -EIO : 0;
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return ret;
}

int vr_sysfs_dev(const struct vr_opts *o, const char *addr, const char *attr,
		 char *buf, size_t size)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/%s", o->sysfs,
		 addr, attr);
	return vr_read_line(path, buf, size);
}

/* "03:00.0" or "0000:03:00.0" to "0000:03:00.0", by the one grammar. */
bool vr_normalize_addr(const char *in, char *out)
{
	struct vr_selector sel;
	const char *reason;

	if (vr_sel_parse(in, strlen(in), &sel, &reason) ||
	    sel.kind != VR_SEL_ADDR || sel.exclude || sel.pinned ||
	    sel.slot == VR_SEL_ANY || sel.func == VR_SEL_ANY)
		return false;
	snprintf(out, VR_ADDR_SIZE, "%04x:%02x:%02x.%x", sel.domain,
		 sel.bus & 0xff, sel.slot & 0x1f, sel.func & 7);
	return true;
}

/*
 * The PCI function of the network interface @ifname, into @addr
 * (VR_ADDR_SIZE). Return: 0, or -errno said: -ENODEV no such interface,
 * -EINVAL one on no PCI function (virtual, USB).
 */
int vr_netdev_addr(const struct vr_opts *o, const char *ifname, char *addr)
{
	char path[PATH_MAX], bus[64], name[VR_ADDR_SIZE + 8];

	snprintf(path, sizeof(path), "%s/class/net/%s", o->sysfs, ifname);
	if (!*ifname || strchr(ifname, '/') || access(path, F_OK)) {
		vr_err("--netdev %s: no such network interface (ip link lists them)",
		       ifname);
		return -ENODEV;
	}
	snprintf(path, sizeof(path), "%s/class/net/%s/device/subsystem",
		 o->sysfs, ifname);
	if (!vr_link_name(path, bus, sizeof(bus)) || strcmp(bus, "pci")) {
		vr_err("--netdev %s: not the interface of a PCI function (a virtual one, or on %s): nothing to reserve",
		       ifname, bus[0] ? bus : "no bus");
		return -EINVAL;
	}
	snprintf(path, sizeof(path), "%s/class/net/%s/device", o->sysfs, ifname);
	if (!vr_link_name(path, name, sizeof(name)) ||
	    !vr_normalize_addr(name, addr)) {
		vr_err("--netdev %s: its device '%s' is not a PCI address", ifname,
		       name);
		return -EINVAL;
	}
	return 0;
}

/* Write @val to @addr's sysfs attribute @attr; 0 or -errno. */
int vr_sysfs_write(const struct vr_opts *o, const char *addr, const char *attr,
		   const char *val)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/%s", o->sysfs, addr,
		 attr);
	return vr_write(path, val);
}

/*
 * The VM a QEMU process runs, from its command line: the libvirt domain
 * (-name guest=NAME,...), the Proxmox VM (-id VMID, which only Proxmox's
 * qemu-server passes), or a plain QEMU's -name. "" when none.
 */
static void vr_qemu_vm(const struct vr_opts *o, const char *pid, char *buf,
		       size_t size)
{
	char path[PATH_MAX], args[8192], *a, *next, *end;
	const char *name = NULL, *id = NULL;
	size_t len;
	FILE *f;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "%s/%s/cmdline", o->proc, pid);
	f = fopen(path, "re");
	if (!f)
		return;
	len = fread(args, 1, sizeof(args) - 1, f);
	fclose(f);
	args[len] = '\0';
	end = args + len;
	for (a = args; a < end; a = next) {
		next = a + strlen(a) + 1;
		if (next >= end)
			break;
		if (!strcmp(a, "-name"))
			name = next;
		else if (!strcmp(a, "-id"))
			id = next;
	}
	if (id)
		snprintf(buf, size, ", Proxmox VM %s", id);
	else if (name && !strncmp(name, "guest=", 6))
		snprintf(buf, size, ", libvirt domain %.*s",
			 (int)strcspn(name + 6, ","), name + 6);
	else if (name)
		snprintf(buf, size, ", QEMU -name %.*s",
			 (int)strcspn(name, ","), name);
}

/*
 * Processes holding one of the @n device nodes @want open: a "pid N (comm)"
 * list in @buf, each with the VM it runs when it is a QEMU (libvirt domain,
 * Proxmox VM, -name); a list cut by @size ends in "...". Return: how many,
 * or -errno when /proc cannot be read; other users' processes are seen
 * only by root.
 */
int vr_holders(const struct vr_opts *o, char want[][PATH_MAX],
	       size_t n, char *buf, size_t size)
{
	char path[PATH_MAX], link[PATH_MAX], comm[64], vm[128];
	size_t len = 0, k;
	struct dirent *p, *fd;
	DIR *procs, *fds;
	int found = 0;

	buf[0] = '\0';
	procs = opendir(o->proc);
	if (!procs)
		return -errno;
	while ((p = readdir(procs))) {
		bool holds = false;

		if (p->d_name[0] < '0' || p->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "%s/%s/fd", o->proc, p->d_name);
		fds = opendir(path);
		if (!fds)
			continue;
		while (!holds && (fd = readdir(fds))) {
			ssize_t len_link;

			snprintf(path, sizeof(path), "%s/%s/fd/%s", o->proc,
				 p->d_name, fd->d_name);
			len_link = readlink(path, link, sizeof(link) - 1);
			if (len_link < 0)
				continue;
			link[len_link] = '\0';
			for (k = 0; k < n && !holds; k++)
				holds = !strcmp(link, want[k]);
		}
		closedir(fds);
		if (!holds)
			continue;
		snprintf(path, sizeof(path), "%s/%s/comm", o->proc, p->d_name);
		if (vr_read_line(path, comm, sizeof(comm)))
			snprintf(comm, sizeof(comm), "?");
		vr_qemu_vm(o, p->d_name, vm, sizeof(vm));
		len += (size_t)snprintf(buf + len, size > len ? size - len : 0,
					"%spid %s (%s%s)", found ? ", " : "",
					p->d_name, comm, vm);
		if (len >= size && size > 4) {
			memcpy(buf + size - 4, "...", 4);	/* said, not cut */
			len = size - 1;
		}
		found++;
	}
	closedir(procs);
	return found;
}

/*
 * The VFIO device cdev of @addr ("vfio0", a node in /dev/vfio/devices/)
 * into @buf: the vfio-dev/ child a VFIO driver registers, when it has a
 * device number (CONFIG_VFIO_DEVICE_CDEV, 6.6 on). False, "" when none.
 */
bool vr_vfio_cdev(const struct vr_opts *o, const char *addr, char *buf,
		  size_t size)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/vfio-dev", o->sysfs,
		 addr);
	d = opendir(path);
	if (!d)
		return false;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "vfio", 4))
			continue;
		snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/vfio-dev/%.64s/dev",
			 o->sysfs, addr, e->d_name);
		if (!access(path, F_OK))
			snprintf(buf, size, "%s", e->d_name);
		break;
	}
	closedir(d);
	return buf[0];
}

/*
 * Processes holding the function @addr through VFIO: its group's node
 * (/dev/vfio/N, or noiommu-N) or its device cdev for iommufd
 * (/dev/vfio/devices/vfioX), open and bound to an iommufd or not yet.
 * See vr_holders(); 0 for a function without an IOMMU group or VFIO
 * device node, which no VFIO user can hold.
 */
int vr_device_users(const struct vr_opts *o, const char *addr, char *buf,
		    size_t size)
{
	char want[3][PATH_MAX], name[64];
	size_t n = 0;

	buf[0] = '\0';
	if (vr_sysfs_link(o, addr, "iommu_group", name, sizeof(name))) {
		snprintf(want[n++], sizeof(want[0]), "/dev/vfio/%s", name);
		snprintf(want[n++], sizeof(want[0]), "/dev/vfio/noiommu-%s",
			 name);
	}
	if (vr_vfio_cdev(o, addr, name, sizeof(name)))
		snprintf(want[n++], sizeof(want[0]), "/dev/vfio/devices/%s",
			 name);
	return n ? vr_holders(o, want, n, buf, size) : 0;
}

/* @module's allow_unsafe_interrupts (vfio_iommu_type1's, or iommufd's). */
bool vr_allow_unsafe_interrupts(const struct vr_opts *o, const char *module)
{
	char path[PATH_MAX], val[8];

	snprintf(path, sizeof(path),
		 "%s/module/%s/parameters/allow_unsafe_interrupts",
		 o->sysfs, module);
	return !vr_read_line(path, val, sizeof(val)) && val[0] == 'Y';
}

/* @d's VFIO device cdev, "/dev/vfio/devices/vfioN" ("" without one). */
void vr_iommufd_cdev(const struct vr_opts *o, const struct vr_device *d,
		     char *path, size_t size)
{
	if (d->vfio_cdev[0])
		snprintf(path, size, "%s/vfio/devices/%s", o->dev, d->vfio_cdev);
	else
		path[0] = '\0';
}

/*
 * "Ethernet controller [0200]: Intel Corporation 82574L Gigabit Network
 * Connection [8086:10d3]", as lspci -nn says it: names from libpci, which
 * caches pci.ids and asks udev's hwdb; numbers where it knows none.
 */
const char *vr_device_name(const struct vr_opts *o, const struct vr_device *d,
			   char *buf, size_t size)
{
	char cls[128], dev[256];

	/* MIXED: "Name [ids]", and lspci's fallbacks where a name is missing */
	pci_lookup_name(o->pci, cls, sizeof(cls),
			PCI_LOOKUP_CLASS | PCI_LOOKUP_MIXED, (int)(d->class >> 8));
	pci_lookup_name(o->pci, dev, sizeof(dev),
			PCI_LOOKUP_VENDOR | PCI_LOOKUP_DEVICE | PCI_LOOKUP_MIXED,
			d->vendor, d->device);
	snprintf(buf, size, "%s: %s", cls, dev);
	return buf;
}

/* Run a program; its exit status, or a negative errno. */
int vr_run(char *const argv[])
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (!pid) {
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -EINTR;
}

/*
 * Run a program with its standard output on a pipe (stderr on /dev/null),
 * by fork and exec: never through a shell, so nothing read from sysfs or
 * the environment is ever parsed as a command. Return: the read end, or
 * NULL; vr_pclose() reaps the child.
 */
FILE *vr_popen(char *const argv[], pid_t *pid)
{
	int fds[2], null;
	FILE *f;

	if (pipe2(fds, O_CLOEXEC))
		return NULL;
	*pid = fork();
	if (*pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return NULL;
	}
	if (!*pid) {
		null = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (dup2(fds[1], STDOUT_FILENO) < 0 ||
		    (null >= 0 && dup2(null, STDERR_FILENO) < 0))
			_exit(127);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	if (!f) {
		close(fds[0]);
		waitpid(*pid, NULL, 0);
	}
	return f;
}

/* Close what vr_popen() opened; the program's exit status or -errno. */
int vr_pclose(FILE *f, pid_t pid)
{
	int status;

	fclose(f);
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -EINTR;
}

/* Write @val to the sysfs file @path whole; 0 or -errno. */
int vr_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int ret = 0;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	if (n < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/*
 * After a release, when no driver took the device back: load its native
 * driver by modalias and ask the core to probe it.
 */
int vr_reprobe(const struct vr_opts *o, const char *addr)
{
	char path[PATH_MAX], alias[256];
	char *argv[] = { "modprobe", "-q", alias, NULL };

	if (vr_current_driver(o, addr, alias, sizeof(alias)))
		return 0;
	if (!vr_sysfs_dev(o, addr, "modalias", alias, sizeof(alias)))
		vr_run(argv);
	snprintf(path, sizeof(path), "%s/bus/pci/drivers_probe", o->sysfs);
	return vr_write(path, addr);
}

static void vr_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* The last component of the symlink @path into @buf; false (and "") if none. */
bool vr_link_name(const char *path, char *buf, size_t size)
{
	char link[PATH_MAX];
	const char *base;
	ssize_t n;

	buf[0] = '\0';
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return false;
	link[n] = '\0';
	base = strrchr(link, '/');
	snprintf(buf, size, "%s", base ? base + 1 : link);
	return true;
}

/*
 * The last component of the link @name in @addr's sysfs directory (driver,
 * iommu_group, physfn, virtfnN) into @buf; false (and "") when none.
 */
bool vr_sysfs_link(const struct vr_opts *o, const char *addr,
		   const char *name, char *buf, size_t size)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/%s", o->sysfs,
		 addr, name);
	return vr_link_name(path, buf, size);
}

/* The driver bound to @addr into @buf; false (and "") when none. */
bool vr_current_driver(const struct vr_opts *o, const char *addr, char *buf,
		       size_t size)
{
	return vr_sysfs_link(o, addr, "driver", buf, size);
}

/*
 * Is @addr bound to a VFIO driver (vfio-pci or one of its variants)? The
 * kernel's fact, not a name: vfio-pci-core registers a VFIO device, which
 * appears as the device's vfio-dev/ directory (6.1 on).
 */
bool vr_vfio_bound(const struct vr_opts *o, const char *addr)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/vfio-dev", o->sysfs,
		 addr);
	return !access(path, F_OK);
}

/* Wait up to @ms for @addr to be bound to @driver (any driver if NULL). */
int vr_wait_driver(const struct vr_opts *o, const char *addr,
		   const char *driver, int ms)
{
	char cur[VR_NAME_SIZE];

	for (;;) {
		if (vr_current_driver(o, addr, cur, sizeof(cur)) &&
		    (!driver || !strcmp(cur, driver)))
			return 0;
		if (ms <= 0)
			return -ETIMEDOUT;
		vr_sleep_ms(20);
		ms -= 20;
	}
}

static unsigned long vr_sysfs_hex(const struct vr_opts *o, const char *addr,
				  const char *attr)
{
	char val[32];

	if (vr_sysfs_dev(o, addr, attr, val, sizeof(val)))
		return 0;
	return strtoul(val, NULL, 16);
}

/* What sysfs alone says of one PCI function (no module needed). */
int vr_sysfs_device(const struct vr_opts *o, const char *addr,
		    struct vr_device *d)
{
	memset(d, 0, sizeof(*d));
	if (!vr_normalize_addr(addr, d->addr))
		return -EINVAL;
	d->vendor = (uint16_t)vr_sysfs_hex(o, addr, "vendor");
	d->device = (uint16_t)vr_sysfs_hex(o, addr, "device");
	d->subvendor = (uint16_t)vr_sysfs_hex(o, addr, "subsystem_vendor");
	d->subdevice = (uint16_t)vr_sysfs_hex(o, addr, "subsystem_device");
	d->class = (uint32_t)vr_sysfs_hex(o, addr, "class");
	d->bridge = (d->class >> 16) == 0x06;
	vr_current_driver(o, addr, d->driver, sizeof(d->driver));
	if (vr_sysfs_dev(o, addr, "driver_override", d->override,
			 sizeof(d->override)) || !strcmp(d->override, "(null)"))
		d->override[0] = '\0';
	vr_sysfs_link(o, addr, "physfn", d->pf_addr, sizeof(d->pf_addr));
	return 0;
}

/* Every PCI function sysfs lists. */
int vr_sysfs_devices(const struct vr_opts *o, struct vr_device **devs,
		     size_t *n)
{
	char path[PATH_MAX];
	struct vr_device *v = NULL, *grown;
	size_t cap = 0;
	struct dirent *e;
	DIR *d;

	*n = 0;
	snprintf(path, sizeof(path), "%s/bus/pci/devices", o->sysfs);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			grown = realloc(v, cap * sizeof(*v));
			if (!grown) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = grown;
		}
		if (!vr_sysfs_device(o, e->d_name, &v[*n]))
			(*n)++;
	}
	closedir(d);
	*devs = v;
	return 0;
}

/*
 * Drivers that manage DMA themselves (driver_managed_dma), which leave an
 * IOMMU group viable: what sysfs cannot tell, named here. The module asks
 * each driver; without it this list is the estimate.
 */
static bool vr_dma_managed(const struct vr_opts *o, const char *addr,
			   const char *driver)
{
	return !driver[0] || vr_vfio_bound(o, addr) ||
	       !strcmp(driver, "pci-stub") || !strcmp(driver, "pcieport");
}

/* Each device's group, reset methods and SR-IOV role, from sysfs. */
static void vr_sysfs_more(const struct vr_opts *o, struct vr_device *d)
{
	char buf[64];
	char *end;

	d->sysfs_only = true;
	if (vr_sysfs_link(o, d->addr, "iommu_group", buf, sizeof(buf))) {
		d->group = (uint32_t)strtoul(buf, &end, 10);
		d->has_group = !*end;
	}
	vr_sysfs_dev(o, d->addr, "reset_method", d->reset, sizeof(d->reset));
	if (!vr_sysfs_dev(o, d->addr, "sriov_totalvfs", buf, sizeof(buf))) {
		d->is_pf = true;
		d->totalvfs = (uint16_t)strtoul(buf, NULL, 10);
		if (!vr_sysfs_dev(o, d->addr, "sriov_numvfs", buf, sizeof(buf)))
			d->numvfs = (uint16_t)strtoul(buf, NULL, 10);
	}
	/* only a device on a VFIO driver can be held through VFIO */
	if (vr_vfio_bound(o, d->addr)) {
		vr_vfio_cdev(o, d->addr, d->vfio_cdev, sizeof(d->vfio_cdev));
		d->in_use = vr_device_users(o, d->addr, buf, sizeof(buf)) > 0;
		d->vfio_open = d->in_use;
	}
}

static int vr_cmp_group(const void *a, const void *b)
{
	const struct vr_group *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

/* The groups of the devices @f holds, each member's blocking estimated. */
static int vr_sysfs_groups(const struct vr_opts *o, struct vr_facts *f)
{
	struct vr_group *g;
	struct vr_member *m;
	size_t i, k;

	for (i = 0; i < f->n; i++) {
		const struct vr_device *d = &f->devs[i];

		if (!d->has_group)
			continue;
		for (k = 0; k < f->ng && f->groups[k].id != d->group; k++)
			;
		if (k == f->ng) {
			g = realloc(f->groups, (f->ng + 1) * sizeof(*g));
			if (!g)
				return -ENOMEM;
			f->groups = g;
			memset(&g[k], 0, sizeof(g[k]));
			g[k].id = d->group;
			g[k].viable = true;
			f->ng++;
		}
		g = &f->groups[k];
		m = realloc(g->members, (g->n + 1) * sizeof(*m));
		if (!m)
			return -ENOMEM;
		g->members = m;
		m = &g->members[g->n++];
		memset(m, 0, sizeof(*m));
		snprintf(m->addr, sizeof(m->addr), "%s", d->addr);
		snprintf(m->driver, sizeof(m->driver), "%s", d->driver);
		m->blocks = !vr_dma_managed(o, d->addr, d->driver);
		g->viable &= !m->blocks;
		g->in_use |= d->in_use;
	}
	qsort(f->groups, f->ng, sizeof(*f->groups), vr_cmp_group);
	return 0;
}

static int vr_cmp_device(const void *a, const void *b)
{
	return strcmp(((const struct vr_device *)a)->addr,
		      ((const struct vr_device *)b)->addr);
}

/*
 * What sysfs tells of every device and group, for the read commands when
 * the module is not loaded: no rules, states or targets (the module's), a
 * group's viability by vr_dma_managed(). Return: 0 or -errno.
 */
int vr_sysfs_facts(const struct vr_opts *o, struct vr_facts *f)
{
	size_t i;
	int ret;

	memset(f, 0, sizeof(*f));
	ret = vr_sysfs_devices(o, &f->devs, &f->n);
	if (ret)
		return ret;
	qsort(f->devs, f->n, sizeof(*f->devs), vr_cmp_device);
	for (i = 0; i < f->n; i++)
		vr_sysfs_more(o, &f->devs[i]);
	ret = vr_sysfs_groups(o, f);
	if (ret)
		vr_facts_free(f);
	f->sysfs = !ret;
	return ret;
}
