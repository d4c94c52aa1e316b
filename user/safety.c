// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The vfio-reserve authors.
 *
 * Devices the host itself needs: the controller behind a mounted file
 * system (by device number, or for btrfs and ZFS, whose mounts have none,
 * by their member disks), active swap, a disk something holds open
 * exclusively (LVM, md, ZFS, a VM's LV), the NIC carrying a default route,
 * the boot VGA, a GPU with a framebuffer or a process using its DRM or
 * nvidia nodes. A device is behind a block device or interface when its
 * sysfs directory is an ancestor of theirs.
 *
 * Every check fails closed: one that cannot run (an unreadable /proc file,
 * a sysfs directory that cannot be listed, a disk that cannot be opened)
 * counts as a reason to keep the device, and says which check and why.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>

#include "vfio-reserve.h"

#define VR_STACK_DEPTH	8

/* Is the real path of @link below the PCI function @addr? */
static bool vr_path_below(const char *link, const char *addr)
{
	char real[PATH_MAX], needle[VR_ADDR_SIZE + 2];

	if (!realpath(link, real))
		return false;
	snprintf(needle, sizeof(needle), "/%s", addr);
	for (const char *p = strstr(real, needle); p; p = strstr(p + 1, needle))
		if (p[strlen(needle)] == '/' || !p[strlen(needle)])
			return true;
	return false;
}

/* A block device (sysfs dir) on @addr, or stacked on one (dm, md, ...). */
static bool vr_block_on(const char *dir, const char *addr, int depth)
{
	char path[PATH_MAX];
	struct dirent *e;
	bool found;
	DIR *d;

	if (vr_path_below(dir, addr))
		return true;
	if (depth >= VR_STACK_DEPTH)
		return false;
	snprintf(path, sizeof(path), "%s/slaves", dir);
	d = opendir(path);
	if (!d)
		return false;	/* a disk or partition: its path said it all */
	found = false;
	while (!found && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/slaves/%s", dir, e->d_name);
		found = vr_block_on(path, addr, depth + 1);
	}
	closedir(d);
	return found;
}

static bool vr_devnum_on(const struct vr_opts *o, unsigned int maj,
			 unsigned int min, const char *addr)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s/dev/block/%u:%u", o->sysfs, maj, min);
	return vr_block_on(dir, addr, 0);
}

/*
 * A block device named by a path (a mount's source, a swap device, a ZFS
 * vdev) behind @addr: by its device number, or in a test tree, where the
 * node does not exist, by its name in /sys/class/block.
 */
static bool vr_node_on(const struct vr_opts *o, const char *node,
		       const char *addr)
{
	char dir[PATH_MAX];
	const char *name;
	struct stat st;

	if (!stat(node, &st) && S_ISBLK(st.st_mode))
		return vr_devnum_on(o, major(st.st_rdev), minor(st.st_rdev),
				    addr);
	name = strrchr(node, '/');
	if (!name || strncmp(node, "/dev/", 5))
		return false;
	snprintf(dir, sizeof(dir), "%s/class/block/%s", o->sysfs, name + 1);
	return vr_block_on(dir, addr, 0);
}

/*
 * A ZFS file system (source POOL/DATASET) mounted on @mnt: does a member
 * disk of its pool, from zpool(8) run without a shell, sit behind @addr?
 * True, with @why, also when zpool cannot tell. Each pool is asked once
 * per check: @done lists those asked.
 */
static bool vr_zfs_on(const struct vr_opts *o, const char *src,
		      const char *mnt, const char *addr, char *done,
		      size_t done_size, char *why, size_t size)
{
	char pool[256], word[260], line[1024];
	char *argv[] = { "zpool", "list", "-vHPL", pool, NULL };
	bool found = false;
	pid_t pid;
	FILE *p;
	int ret;

	snprintf(pool, sizeof(pool), "%.*s", (int)strcspn(src, "/@"), src);
	snprintf(word, sizeof(word), " %s ", pool);
	if (strstr(done, word))
		return false;
	if (strlen(done) + strlen(word) < done_size)
		strcat(done, word + 1);
	p = vr_popen(argv, &pid);
	ret = p ? 0 : -errno;
	while (p && fgets(line, sizeof(line), p)) {
		char *dev = line + strspn(line, "\t ");

		dev[strcspn(dev, "\t\n")] = '\0';
		if (!found && !strncmp(dev, "/dev/", 5) && vr_node_on(o, dev, addr)) {
			snprintf(why, size, "it holds %s of the ZFS pool %s mounted on %s",
				 dev, pool, mnt);
			found = true;
		}
	}
	if (p)
		ret = vr_pclose(p, pid);
	if (!ret)
		return found;
	snprintf(why, size,
		 "cannot tell which disks hold the ZFS pool %s mounted on %s (zpool list: %s); run it as root with zfsutils installed",
		 pool, mnt, ret > 0 ? "failed" : strerror(-ret));
	return true;
}

/*
 * A mounted file system on a block device behind @addr: its mount point.
 * By the device number of the mount; for btrfs and ZFS, whose mounts carry
 * an anonymous one (major 0), by the source (btrfs's first device, every
 * vdev of the ZFS pool); vr_btrfs_on() finds btrfs's other devices.
 */
static bool vr_mount_on(const struct vr_opts *o, const char *addr, char *why,
			size_t size)
{
	char path[PATH_MAX], line[4096], mnt[1024], fstype[64], src[1024];
	char zfs_done[1024] = " ";
	unsigned int maj, min;
	bool found = false;
	const char *sep;
	FILE *f;

	snprintf(path, sizeof(path), "%s/self/mountinfo", o->proc);
	f = fopen(path, "re");
	if (!f) {
		snprintf(why, size, "cannot tell which file systems are mounted (%s: %s)",
			 path, strerror(errno));
		return true;
	}
	while (!found && fgets(line, sizeof(line), f)) {
		sep = strstr(line, " - ");
		if (sscanf(line, "%*u %*u %u:%u %*s %1023s", &maj, &min,
			   mnt) != 3 || !sep ||
		    sscanf(sep + 3, "%63s %1023s", fstype, src) != 2)
			continue;
		if (!maj && !strcmp(fstype, "zfs")) {
			found = vr_zfs_on(o, src, mnt, addr, zfs_done,
					  sizeof(zfs_done), why, size);
			continue;	/* @why says which */
		}
		if (maj) {
			found = vr_devnum_on(o, maj, min, addr);
		} else if (src[0] == '/') {
			found = vr_node_on(o, src, addr);
		}
		if (found)
			snprintf(why, size,
				 "it backs the file system mounted on %s", mnt);
	}
	fclose(f);
	return found;
}

/* A device of a mounted btrfs file system (/sys/fs/btrfs/UUID/devices). */
static bool vr_btrfs_on(const struct vr_opts *o, const char *addr, char *why,
			size_t size)
{
	char path[PATH_MAX];
	struct dirent *fs, *dev;
	bool found = false;
	DIR *d, *devs;

	snprintf(path, sizeof(path), "%s/fs/btrfs", o->sysfs);
	d = opendir(path);
	if (!d)
		return false;	/* btrfs not loaded: no btrfs mounted */
	while (!found && (fs = readdir(d))) {
		if (strlen(fs->d_name) != 36)	/* a UUID, not "features" */
			continue;
		snprintf(path, sizeof(path), "%s/fs/btrfs/%s/devices", o->sysfs,
			 fs->d_name);
		devs = opendir(path);
		if (!devs)
			continue;
		while (!found && (dev = readdir(devs))) {
			if (dev->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/fs/btrfs/%s/devices/%s",
				 o->sysfs, fs->d_name, dev->d_name);
			found = vr_path_below(path, addr);
			if (found)
				snprintf(why, size,
					 "it holds %s, a device of the mounted btrfs file system %s",
					 dev->d_name, fs->d_name);
		}
		closedir(devs);
	}
	closedir(d);
	return found;
}

/*
 * A whole disk behind @addr that something holds open exclusively: a
 * mounted partition, swap, a device-mapper (LVM) or md member, a ZFS vdev,
 * a VM's disk, a Ceph OSD. The kernel answers EBUSY to an O_EXCL open of
 * such a disk; the open itself changes nothing.
 */
static bool vr_disk_busy(const struct vr_opts *o, const char *addr, char *why,
			 size_t size)
{
	char path[PATH_MAX], node[PATH_MAX];
	bool found = false;
	struct dirent *e;
	DIR *d;
	int fd;

	snprintf(path, sizeof(path), "%s/class/block", o->sysfs);
	d = opendir(path);
	if (!d) {
		snprintf(why, size, "cannot tell which disks it has (%s: %s)",
			 path, strerror(errno));
		return true;
	}
	while (!found && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/class/block/%s/partition",
			 o->sysfs, e->d_name);
		if (!access(path, F_OK))
			continue;
		snprintf(path, sizeof(path), "%s/class/block/%s", o->sysfs,
			 e->d_name);
		if (!vr_path_below(path, addr))
			continue;
		/* cciss!c0d0 in sysfs is /dev/cciss/c0d0 */
		snprintf(node, sizeof(node), "%s/%s", o->dev, e->d_name);
		for (char *c = node + strlen(o->dev); *c; c++)
			if (*c == '!')
				*c = '/';
		fd = open(node, O_RDONLY | O_EXCL | O_NONBLOCK | O_CLOEXEC);
		if (fd >= 0) {
			close(fd);
			continue;
		}
		if (errno == ENOMEDIUM)
			continue;
		found = true;
		if (errno == EBUSY)
			snprintf(why, size,
				 "its disk %s is in use: held open exclusively (a mounted partition, swap, LVM or md, a ZFS pool, a VM's disk)",
				 e->d_name);
		else
			snprintf(why, size,
				 "cannot tell whether its disk %s is in use (%s: %s); run as root",
				 e->d_name, node, strerror(errno));
	}
	closedir(d);
	return found;
}

/* Active swap on a device, or in a file on a file system, behind @addr. */
static bool vr_swap_on(const struct vr_opts *o, const char *addr, char *why,
		       size_t size)
{
	char path[PATH_MAX], dev[1024];
	bool found = false;
	struct stat st;
	FILE *f;

	snprintf(path, sizeof(path), "%s/swaps", o->proc);
	f = fopen(path, "re");
	if (!f) {
		snprintf(why, size, "cannot tell where the host swaps (%s: %s)",
			 path, strerror(errno));
		return true;
	}
	while (!found && fscanf(f, "%1023s %*[^\n]", dev) == 1) {
		if (dev[0] != '/')
			continue;	/* the heading */
		if (!stat(dev, &st)) {
			/* a device, or the file system a swap file is on */
			dev_t n = S_ISBLK(st.st_mode) ? st.st_rdev : st.st_dev;

			found = vr_devnum_on(o, major(n), minor(n), addr);
		} else {
			found = vr_node_on(o, dev, addr);
		}
		if (found)
			snprintf(why, size, "it backs the active swap %s", dev);
	}
	fclose(f);
	return found;
}

/* An interface on @addr, directly or under a bridge, bond or VLAN. */
static bool vr_netdev_on(const struct vr_opts *o, const char *ifname,
			 const char *addr, int depth)
{
	char path[PATH_MAX];
	struct dirent *e;
	bool found = false;
	DIR *d;

	snprintf(path, sizeof(path), "%s/class/net/%s", o->sysfs, ifname);
	if (vr_path_below(path, addr))
		return true;
	if (depth >= VR_STACK_DEPTH)
		return false;
	d = opendir(path);
	if (!d)
		return false;
	while (!found && (e = readdir(d))) {
		if (strncmp(e->d_name, "lower_", 6))
			continue;
		found = vr_netdev_on(o, e->d_name + 6, addr, depth + 1);
	}
	closedir(d);
	return found;
}

/* Open vSwitch: its ports, and the bridge's internal port, have this master. */
#define VR_OVS_MASTER	"ovs-system"

static bool vr_ovs_port(const struct vr_opts *o, const char *ifname)
{
	char path[PATH_MAX], master[64];

	snprintf(path, sizeof(path), "%s/class/net/%s/master", o->sysfs, ifname);
	return vr_link_name(path, master, sizeof(master)) &&
	       !strcmp(master, VR_OVS_MASTER);
}

/*
 * An interface carrying a route on @addr: directly, through the lower_*
 * links of a bridge, bond, VLAN, macvlan or ipvlan, or, for an Open
 * vSwitch port (which sysfs does not link to the bridge's other ports),
 * through any port of Open vSwitch on @addr.
 */
static bool vr_route_dev_on(const struct vr_opts *o, const char *ifname,
			    const char *addr)
{
	char path[PATH_MAX];
	struct dirent *e;
	bool found;
	DIR *d;

	if (vr_netdev_on(o, ifname, addr, 0))
		return true;
	if (!vr_ovs_port(o, ifname))
		return false;
	snprintf(path, sizeof(path), "%s/class/net", o->sysfs);
	d = opendir(path);
	if (!d)
		return true;	/* fails closed */
	found = false;
	while (!found && (e = readdir(d)))
		found = e->d_name[0] != '.' && strcmp(e->d_name, ifname) &&
			vr_ovs_port(o, e->d_name) &&
			vr_netdev_on(o, e->d_name, addr, 0);
	closedir(d);
	return found;
}

struct vr_route_walk {
	const struct vr_opts *o;
	const char *addr;
	char ifname[IF_NAMESIZE];
	unsigned int table;
	bool found;
};

static void vr_route_oif(struct vr_route_walk *w, unsigned int ifindex,
			 unsigned int table)
{
	char name[IF_NAMESIZE];

	if (w->found || !if_indextoname(ifindex, name) ||
	    !vr_route_dev_on(w->o, name, w->addr))
		return;
	snprintf(w->ifname, sizeof(w->ifname), "%s", name);
	w->table = table;
	w->found = true;
}

/* One route of the dump: a default route in any table but local. */
static int vr_route_msg(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct rtmsg *rtm = nlmsg_data(nlh);
	struct vr_route_walk *w = arg;
	struct nlattr *tb[RTA_MAX + 1];
	unsigned int table;

	if (nlh->nlmsg_type != RTM_NEWROUTE ||
	    nlmsg_parse(nlh, sizeof(*rtm), tb, RTA_MAX, NULL) ||
	    rtm->rtm_dst_len || rtm->rtm_type != RTN_UNICAST)
		return NL_OK;
	table = tb[RTA_TABLE] ? nla_get_u32(tb[RTA_TABLE]) : rtm->rtm_table;
	if (table == RT_TABLE_LOCAL)
		return NL_OK;
	if (tb[RTA_OIF])
		vr_route_oif(w, nla_get_u32(tb[RTA_OIF]), table);
	if (tb[RTA_MULTIPATH]) {
		struct rtnexthop *nh = nla_data(tb[RTA_MULTIPATH]);
		int len = nla_len(tb[RTA_MULTIPATH]);

		while (RTNH_OK(nh, len)) {
			vr_route_oif(w, (unsigned int)nh->rtnh_ifindex, table);
			len -= NLMSG_ALIGN(nh->rtnh_len);
			nh = RTNH_NEXT(nh);
		}
	}
	return NL_OK;
}

/*
 * Default routes of every routing table, IPv4 and IPv6, from the kernel
 * (rtnetlink): the main table's, and those of policy routing and VRFs,
 * which /proc/net/route does not show. -errno when they cannot be read.
 */
static int vr_route_tables_on(const struct vr_opts *o, const char *addr,
			      char *why, size_t size)
{
	struct vr_route_walk w = { .o = o, .addr = addr };
	struct rtmsg rtm = { .rtm_family = AF_UNSPEC };
	struct nl_sock *sk = nl_socket_alloc();
	int ret;

	if (!sk)
		return -ENOMEM;
	ret = nl_connect(sk, NETLINK_ROUTE);
	if (!ret)
		ret = nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM,
					  vr_route_msg, &w);
	if (!ret)
		ret = nl_send_simple(sk, RTM_GETROUTE, NLM_F_DUMP, &rtm,
				     sizeof(rtm));
	if (ret >= 0)
		ret = nl_recvmsgs_default(sk);
	nl_socket_free(sk);
	if (ret < 0)
		return -EIO;
	if (w.found)
		snprintf(why, size, "it carries a default route (%s, routing table %u%s)",
			 w.ifname, w.table, w.table == RT_TABLE_MAIN ?
			 ", main" : "");
	return w.found;
}

static bool vr_route_on(const struct vr_opts *o, const char *addr, char *why,
			size_t size)
{
	char path[PATH_MAX], line[512], ifname[64], dest[64], mask[64];
	bool found = false;
	FILE *f;
	int ret;

	snprintf(path, sizeof(path), "%s/net/route", o->proc);
	f = fopen(path, "re");
	if (!f) {
		snprintf(why, size, "cannot tell which interface carries the default route (%s: %s)",
			 path, strerror(errno));
		return true;
	}
	while (!found && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %63s %*s %*s %*s %*s %*s %63s",
			   ifname, dest, mask) != 3 ||
		    strcmp(dest, "00000000") || strcmp(mask, "00000000"))
			continue;
		found = vr_route_dev_on(o, ifname, addr);
	}
	fclose(f);
	snprintf(path, sizeof(path), "%s/net/ipv6_route", o->proc);
	f = found ? NULL : fopen(path, "re");
	if (!f && !found && errno != ENOENT) {	/* ENOENT: IPv6 is off */
		snprintf(why, size, "cannot tell which interface carries the IPv6 default route (%s: %s)",
			 path, strerror(errno));
		return true;
	}
	if (f) {
		while (!found && fgets(line, sizeof(line), f)) {
			char len[8];

			if (sscanf(line, "%63s %7s %*s %*s %*s %*s %*s %*s %*s %63s",
				   dest, len, ifname) != 3 ||
			    strcmp(dest, "00000000000000000000000000000000") ||
			    strcmp(len, "00") || !strcmp(ifname, "lo"))
				continue;
			found = vr_route_dev_on(o, ifname, addr);
		}
		fclose(f);
	}
	if (found) {
		snprintf(why, size, "it carries the default route (%s)",
			 ifname);
		return true;
	}
	ret = vr_route_tables_on(o, addr, why, size);
	if (ret < 0)
		snprintf(why, size, "cannot tell which interfaces carry default routes (rtnetlink: %s)",
			 strerror(-ret));
	return ret != 0;
}

/*
 * The interface the current SSH session came in on: the one holding the
 * server address of SSH_CONNECTION ("client port server port").
 */
static bool vr_ssh_on(const struct vr_opts *o, const char *addr, char *why,
		      size_t size)
{
	const char *conn = getenv("SSH_CONNECTION");
	unsigned char want[16], have[16];
	struct ifaddrs *all, *i;
	char server[INET6_ADDRSTRLEN + 16];
	bool found = false;
	int family;

	if (!conn || sscanf(conn, "%*s %*s %63s", server) != 1)
		return false;
	server[strcspn(server, "%")] = '\0';	/* fe80::1%eth0 */
	family = strchr(server, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(family, server, want) != 1)
		return false;
	if (getifaddrs(&all)) {
		snprintf(why, size, "cannot tell which interface carries this SSH session (%s)",
			 strerror(errno));
		return true;
	}
	for (i = all; i && !found; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != family)
			continue;
		if (family == AF_INET)
			memcpy(have, &((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr, 4);
		else
			memcpy(have, &((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr, 16);
		if (memcmp(have, want, family == AF_INET ? 4 : 16))
			continue;
		found = vr_netdev_on(o, i->ifa_name, addr, 0);
		if (found)
			snprintf(why, size, "it carries this SSH session (%s on %s)",
				 server, i->ifa_name);
	}
	freeifaddrs(all);
	return found;
}

/*
 * A GPU the host draws with: one with a framebuffer (fbcon, the console),
 * or whose DRM nodes (/dev/dri/cardN, renderDN) or nvidia node
 * (/dev/nvidiaN) a process holds open: Xorg, a Wayland compositor, CUDA.
 */
static bool vr_display_on(const struct vr_opts *o, const char *addr,
			  char *why, size_t size)
{
	char path[PATH_MAX], want[8][PATH_MAX], line[128], users[VR_USERS_SIZE];
	struct dirent *e;
	size_t n = 0;
	int minor, ret;
	FILE *f;
	DIR *d;

	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/graphics", o->sysfs,
		 addr);
	d = opendir(path);
	while (d && (e = readdir(d)))
		if (!strncmp(e->d_name, "fb", 2)) {
			snprintf(why, size, "it drives the framebuffer %s (the console)",
				 e->d_name);
			closedir(d);
			return true;
		}
	if (d)
		closedir(d);
	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/drm", o->sysfs, addr);
	d = opendir(path);
	while (d && (e = readdir(d)) && n < 7)
		if (!strncmp(e->d_name, "card", 4) ||
		    !strncmp(e->d_name, "render", 6))
			snprintf(want[n++], sizeof(want[0]), "/dev/dri/%.64s",
				 e->d_name);
	if (d)
		closedir(d);
	snprintf(path, sizeof(path), "%s/driver/nvidia/gpus/%s/information",
		 o->proc, addr);
	f = fopen(path, "re");
	while (f && n < 8 && fgets(line, sizeof(line), f))
		if (sscanf(line, "Device Minor: %d", &minor) == 1)
			snprintf(want[n++], sizeof(want[0]), "/dev/nvidia%d",
				 minor);
	if (f)
		fclose(f);
	if (!n)
		return false;
	ret = vr_holders(o, want, n, users, sizeof(users));
	if (ret < 0)
		snprintf(why, size, "cannot tell who uses its display nodes (%s: %s); run as root",
			 o->proc, strerror(-ret));
	else if (ret > 0)
		snprintf(why, size, "its display nodes are in use by %s", users);
	return ret != 0;
}

/**
 * vr_host_critical() - does the host itself need this device?
 * @o: options (sysfs, proc and dev roots)
 * @addr: the PCI function
 * @why: set to the reason when it does
 * @size: room in @why
 *
 * A check that cannot run counts as a need, and @why says so.
 *
 * Return: true when reserving it would take something from the host.
 */
int vr_host_critical(const struct vr_opts *o, const char *addr, char *why,
		     size_t size)
{
	char val[8];

	if (!vr_sysfs_dev(o, addr, "boot_vga", val, sizeof(val)) &&
	    !strcmp(val, "1")) {
		snprintf(why, size, "it is the boot VGA device (the host console)");
		return true;
	}
	return vr_display_on(o, addr, why, size) ||
	       vr_mount_on(o, addr, why, size) ||
	       vr_btrfs_on(o, addr, why, size) ||
	       vr_swap_on(o, addr, why, size) ||
	       vr_disk_busy(o, addr, why, size) ||
	       vr_route_on(o, addr, why, size) ||
	       vr_ssh_on(o, addr, why, size);
}

/*
 * Add @name to the space separated list @buf; a list that would not fit
 * ends in "..." (room for it is always kept).
 */
static void vr_list_add(char *buf, size_t size, const char *name)
{
	size_t len = strlen(buf);

	if (len >= 3 && !strcmp(buf + len - 3, "..."))
		return;
	if (len + 1 + strlen(name) + 4 >= size)
		name = "...";
	snprintf(buf + len, size - len, "%s%s", len ? " " : "", name);
}

/**
 * vr_device_uses() - what the host has on a device, as dpdk-devbind shows it
 * @o: options
 * @addr: the PCI function
 * @u: filled in: its network interfaces, its disks (whole ones, not
 *     partitions), and when it has either, whether the host uses it
 *     (vr_host_critical(): "active", and why); on a VFIO driver, the
 *     processes that hold it (vr_device_users(): root sees them all)
 */
void vr_device_uses(const struct vr_opts *o, const char *addr,
		    struct vr_uses *u)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d;

	memset(u, 0, sizeof(*u));
	if (vr_vfio_bound(o, addr))
		vr_device_users(o, addr, u->holders, sizeof(u->holders));
	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/net", o->sysfs, addr);
	d = opendir(path);
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.')
			vr_list_add(u->netdevs, sizeof(u->netdevs), e->d_name);
	if (d)
		closedir(d);
	snprintf(path, sizeof(path), "%s/class/block", o->sysfs);
	d = opendir(path);
	while (d && (e = readdir(d))) {
		char dev[PATH_MAX + 256], part[PATH_MAX + 272];

		if (e->d_name[0] == '.')
			continue;
		snprintf(dev, sizeof(dev), "%s/%s", path, e->d_name);
		snprintf(part, sizeof(part), "%s/partition", dev);
		if (access(part, F_OK) && vr_path_below(dev, addr))
			vr_list_add(u->blocks, sizeof(u->blocks), e->d_name);
	}
	if (d)
		closedir(d);
	if (u->netdevs[0] || u->blocks[0])
		u->active = vr_host_critical(o, addr, u->why, sizeof(u->why));
}

/*
 * Refuse, unless --force, a selector list that takes a device the host
 * needs; only what the list itself selects counts (its exclusions apply).
 * Reads sysfs: works with or without the module.
 */
int vr_list_safety(const struct vr_opts *o, const char *cmd,
		   const struct vr_selector *sels, int n)
{
	struct vr_device *devs;
	struct vr_pci_ids id;
	char why[256];
	size_t count, i;
	int bad = 0;

	if (vr_sysfs_devices(o, &devs, &count)) {
		vr_err("%s: cannot list the PCI functions in %s/bus/pci/devices to check what %s selects%s",
		       o->force ? "warning" : "refusing", o->sysfs, cmd,
		       o->force ? " (--force)" : "; use --force to go on anyway");
		return o->force ? VR_EXIT_OK : VR_EXIT_FAIL;
	}
	for (i = 0; i < count; i++) {
		vr_device_ids(&devs[i], &id);
		if (devs[i].bridge ||
		    vr_sel_list_match(sels, (unsigned int)n, &id) < 0 ||
		    !vr_host_critical(o, devs[i].addr, why, sizeof(why)))
			continue;
		if (o->force) {
			vr_err("warning: %s selects %s although %s (--force)",
			       cmd, devs[i].addr, why);
			continue;
		}
		vr_err("refusing: the list selects %s, but %s; exclude it (!%s) or use --force",
		       devs[i].addr, why, devs[i].addr);
		bad++;
	}
	free(devs);
	return bad ? VR_EXIT_FAIL : VR_EXIT_OK;
}
