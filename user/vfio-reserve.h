/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The vfio-reserve authors.
 *
 * The helper's shared declarations.
 */
#ifndef VR_HELPER_H
#define VR_HELPER_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <json-c/json.h>
#include <pci/pci.h>
#include <linux/vfio_reserve.h>

#include "selector.h"

/* Exit codes, as vfio-reserve(8) says: the same in every command. */
#define VR_EXIT_OK	0	/* done; assignable; PASS */
#define VR_EXIT_FAIL	1	/* refused; not assignable; FAIL */
#define VR_EXIT_USAGE	2	/* a usage error, or the tool could not tell */

#define VR_ADDR_SIZE	VFIO_RESERVE_ADDR_SIZE
#define VR_NAME_SIZE	64
#define VR_USERS_SIZE	1024	/* vr_holders(): a list of processes */

/* qemu, attach --iommufd[=auto]: the VFIO device cdevs with an iommufd */
enum vr_iommufd_mode {
	VR_IOMMUFD_NO,		/* the group: /dev/vfio/N (the default) */
	VR_IOMMUFD_YES,		/* --iommufd: iommufd, or fail preflight */
	VR_IOMMUFD_AUTO,	/* --iommufd=auto: when QEMU and kernel can */
};

/* The options: the only state shared across the program. */
struct vr_opts {
	bool json;
	bool pretty;		/* --json, indented */
	bool force;
	const char *sysfs;	/* "/sys", or a test tree */
	const char *proc;	/* "/proc", or a test tree */
	const char *dev;	/* "/dev", or a test tree */
	const char *modules;	/* "/lib/modules/$(uname -r)", or a test tree */
	const char *schemas;	/* libvirt's RNG schemas, or a test tree */
	bool explain;		/* check: say why each target */
	bool dry_run;		/* qemu */
	bool x_vga;		/* qemu */
	enum vr_iommufd_mode iommufd;	/* qemu, attach */
	bool no_initramfs;	/* persist, unpersist */
	bool timestamp;		/* monitor */
	const char *netdev[8];	/* --netdev IFACE: their PCI functions */
	unsigned int nnetdev;
	const char *qmp;	/* attach, detach: the socket */
	const char *id;		/* attach */
	const char *bus;	/* attach */
	const char *numvfs;	/* sriov, as given */
	struct pci_access *pci;	/* libpci, for names (its cache) */
};

/* A command's own options (vr_cmd.opts), beside the global ones. */
#define VR_O_EXPLAIN		(1u << 0)
#define VR_O_DRY_RUN		(1u << 1)
#define VR_O_X_VGA		(1u << 2)
#define VR_O_QMP		(1u << 3)
#define VR_O_ID			(1u << 4)
#define VR_O_BUS		(1u << 5)
#define VR_O_NUMVFS		(1u << 6)
#define VR_O_NO_INITRAMFS	(1u << 7)
#define VR_O_TIMESTAMP		(1u << 8)
#define VR_O_NETDEV		(1u << 9)
#define VR_O_IOMMUFD		(1u << 10)


/*
 * A command: @fn gets its operands only (argv[0] is its name; for qemu,
 * "--" and the QEMU command follow them), its options parsed into the
 * vr_opts by main() with getopt_long().
 */
struct vr_cmd {
	const char *name;
	int (*fn)(const struct vr_opts *o, int argc, char **argv);
	const char *usage;	/* arguments */
	const char *help;	/* one line */
	unsigned int opts;	/* VR_O_*: its own options */
	unsigned char json;	/* VR_JSON_*: what --json gives */
};

/* --json: the command's own document; what changed (changes.c); none. */
enum { VR_JSON_OWN, VR_JSON_CHANGES, VR_JSON_NONE };

int vr_run_changes(const struct vr_cmd *c, const struct vr_opts *o,
		   int argc, char **argv);

const struct vr_cmd *vr_cmd_find(const char *name);
void vr_usage_cmd(FILE *f, const struct vr_cmd *c);
int vr_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void vr_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One PCI function as the module reports it. */
struct vr_device {
	char addr[VR_ADDR_SIZE];
	uint16_t vendor, device, subvendor, subdevice;
	uint32_t class;
	char driver[VR_NAME_SIZE];
	char override[VR_NAME_SIZE];
	uint8_t state;			/* enum vfio_reserve_state */
	char rule[VR_NAME_SIZE];
	char prev_driver[VR_NAME_SIZE];
	bool has_group;
	uint32_t group;
	bool intr_remap;
	bool msi_isolated;		/* the group's, as iommufd needs it */
	bool in_use;
	bool vfio_open;			/* its VFIO device is open */
	char vfio_cdev[VR_NAME_SIZE];	/* "vfio0": /dev/vfio/devices/ */
	bool bridge;
	char reset[VR_NAME_SIZE];
	bool is_pf;
	uint16_t totalvfs, numvfs;
	char pf_addr[VR_ADDR_SIZE];
	char target[VR_NAME_SIZE];	/* "" unless reserved or pending */
	uint8_t target_err;		/* enum vfio_reserve_target_error */
	bool sysfs_only;		/* read without the module: no state */
};

struct vr_member {
	char addr[VR_ADDR_SIZE];
	char driver[VR_NAME_SIZE];
	bool blocks;
};

struct vr_group {
	uint32_t id;
	bool viable;
	bool in_use;
	unsigned int n;
	struct vr_member *members;
};

struct vr_status {
	char version[VR_NAME_SIZE];
	bool iommu, intr_remap, dry_run;
	char reclaim[16];
	uint32_t rules, reserved, pending, target_failed;
	char config_error[256];
};

struct vr_rule_info {
	char selector[VR_NAME_SIZE];
	uint8_t origin;			/* enum vfio_reserve_origin */
};

/* nl.c: the module's generic netlink family. */
struct vr_nl {
	struct nl_sock *sk;
	int family;
	int error;		/* the kernel's answer, a negative errno */
	char extack[256];	/* its message, "" when none */
};

int vr_nl_open(struct vr_nl *nl);
int vr_nl_open_write(struct vr_nl *nl);
void vr_nl_close(struct vr_nl *nl);
int vr_nl_fail(struct vr_nl *nl, const char *what, int err);
int vr_nl_status(struct vr_nl *nl, struct vr_status *st);
int vr_nl_device(struct vr_nl *nl, uint8_t cmd, const char *addr,
		 struct vr_device *d);
int vr_nl_devices(struct vr_nl *nl, struct vr_device **devs, size_t *n);
int vr_nl_groups(struct vr_nl *nl, struct vr_group **groups, size_t *n);
void vr_groups_free(struct vr_group *g, size_t n);
int vr_nl_rules(struct vr_nl *nl, struct vr_rule_info **rules, size_t *n);
int vr_nl_rule_change(struct vr_nl *nl, uint8_t cmd, const char *list,
		      uint32_t *count);
int vr_nl_monitor(struct vr_nl *nl,
		  int (*fn)(const char *kind, const char *addr,
			    const char *driver, const char *rule, void *arg),
		  int (*lost)(void *arg), void *arg);

/* What the module knows, read by vr_nl_fetch(): what VR_WANT_* asked. */
struct vr_facts {
	struct vr_device *devs;
	size_t n;
	struct vr_group *groups;
	size_t ng;
	struct vr_rule_info *rules;
	size_t nr;
	bool sysfs;		/* read from sysfs: the module is not loaded */
	/* with sysfs, for check: vr_host_ir() read once for every device */
	int host_ir;
	char host_ir_why[128];
};

#define VR_WANT_DEVICES	(1u << 0)
#define VR_WANT_GROUPS	(1u << 1)
#define VR_WANT_RULES	(1u << 2)

int vr_nl_fetch(const char *cmd, unsigned int want, struct vr_facts *f);
int vr_read_facts(const struct vr_opts *o, const char *cmd, unsigned int want,
		  struct vr_facts *f);
int vr_sysfs_facts(const struct vr_opts *o, struct vr_facts *f);
void vr_facts_free(struct vr_facts *f);

const struct vr_device *vr_find_device(const struct vr_device *devs,
				       size_t n, const char *addr);
const struct vr_group *vr_find_group(const struct vr_group *g, size_t n,
				     uint32_t id);
const char *vr_state_name(uint8_t state);
const char *vr_event_name(uint8_t kind);
const char *vr_target_error_text(uint8_t err);

/* list.c */
void vr_device_ids(const struct vr_device *d, struct vr_pci_ids *id);
int vr_parse_addrs(const char *cmd, int argc, char **argv,
		   char (*addrs)[VR_ADDR_SIZE]);
int vr_parse_selectors(const char *cmd, int argc, char **argv,
		       struct vr_selector *sels, int *n, char *joined,
		       size_t size);

/* sysfs.c: facts read from the host. */
int vr_read_line(const char *path, char *buf, size_t size);
int vr_write(const char *path, const char *val);
int vr_sysfs_write(const struct vr_opts *o, const char *addr, const char *attr,
		   const char *val);
int vr_sysfs_dev(const struct vr_opts *o, const char *addr, const char *attr,
		 char *buf, size_t size);
bool vr_normalize_addr(const char *in, char *out);
int vr_netdev_addr(const struct vr_opts *o, const char *ifname, char *addr);
int vr_holders(const struct vr_opts *o, char want[][PATH_MAX], size_t n,
	       char *buf, size_t size);
bool vr_vfio_cdev(const struct vr_opts *o, const char *addr, char *buf,
		  size_t size);
int vr_device_users(const struct vr_opts *o, const char *addr, char *buf,
		    size_t size);
bool vr_allow_unsafe_interrupts(const struct vr_opts *o, const char *module);
void vr_iommufd_cdev(const struct vr_opts *o, const struct vr_device *d,
		     char *path, size_t size);
const char *vr_ir_fix(const struct vr_opts *o);
int vr_host_ir(const struct vr_opts *o, char *why, size_t len);
const char *vr_device_name(const struct vr_opts *o, const struct vr_device *d,
			   char *buf, size_t size);
int vr_reprobe(const struct vr_opts *o, const char *addr);
int vr_run(char *const argv[]);
FILE *vr_popen(char *const argv[], pid_t *pid);
int vr_pclose(FILE *f, pid_t pid);
bool vr_link_name(const char *path, char *buf, size_t size);
bool vr_sysfs_link(const struct vr_opts *o, const char *addr,
		   const char *name, char *buf, size_t size);
bool vr_current_driver(const struct vr_opts *o, const char *addr, char *buf,
		       size_t size);
bool vr_vfio_bound(const struct vr_opts *o, const char *addr);
int vr_wait_driver(const struct vr_opts *o, const char *addr,
		   const char *driver, int ms);

int vr_sysfs_device(const struct vr_opts *o, const char *addr,
		    struct vr_device *d);
int vr_sysfs_devices(const struct vr_opts *o, struct vr_device **devs,
		     size_t *n);

/* safety.c: devices the host itself needs. */
int vr_host_critical(const struct vr_opts *o, const char *addr, char *why,
		     size_t size);
struct vr_uses {
	char netdevs[256];	/* its interfaces, space separated */
	char blocks[256];	/* its disks */
	bool active;		/* the host uses it (vr_host_critical()) */
	char why[512];		/* how */
	char holders[VR_USERS_SIZE];	/* who holds it through VFIO */
};

void vr_device_uses(const struct vr_opts *o, const char *addr,
		    struct vr_uses *u);
int vr_list_safety(const struct vr_opts *o, const char *cmd,
		   const struct vr_selector *sels, int n);

/* json.c: a small streaming writer. */
struct vr_json {
	FILE *f;
	struct json_object *root;
	struct json_object **stack;	/* the open containers */
	size_t depth, cap;
	unsigned int lost;		/* opens that failed: their closes */
	bool oom;
	bool pretty;
};

/* The version of the JSON schema of vfio-reserve(8), JSON OUTPUT. */
#define VR_JSON_SCHEMA	1

void vr_json_init(struct vr_json *j, const struct vr_opts *o);
void vr_json_begin(struct vr_json *j, const struct vr_opts *o,
		   const char *cmd, const char *key);
void vr_json_open(struct vr_json *j, const char *key, char bracket);
void vr_json_close(struct vr_json *j, char bracket);
void vr_json_str(struct vr_json *j, const char *key, const char *val);
void vr_json_int(struct vr_json *j, const char *key, long long val);
void vr_json_bool(struct vr_json *j, const char *key, bool val);
void vr_json_null(struct vr_json *j, const char *key);
void vr_json_opt_str(struct vr_json *j, const char *key, const char *val);
int vr_json_end(struct vr_json *j);
void vr_json_device(struct vr_json *j, const struct vr_device *d,
		    const struct vr_uses *u);
void vr_json_uses(struct vr_json *j, const struct vr_uses *u);

/* auto.c: @auto, the VFIO driver modules.alias names for a device. */
struct vr_auto_choice {
	bool found;		/* a vfio_pci: alias matched */
	unsigned int wildcards;	/* its '*'s */
	unsigned int matches;	/* how many matched */
	char driver[VR_NAME_SIZE];	/* the module, else "vfio-pci" */
	char alias[400];
	char modalias[256];
};

/* The variant drivers' vfio_pci: aliases, read from modules.alias once. */
struct vr_alias {
	char pattern[384];
	char module[VR_NAME_SIZE];
};

struct vr_aliases {
	bool read;
	int err;		/* the read's -errno */
	size_t n;
	struct vr_alias *a;
};

void vr_aliases_free(struct vr_aliases *al);
int vr_auto_choose(const struct vr_opts *o, struct vr_aliases *al,
		   const char *modalias, struct vr_auto_choice *c);
int vr_auto_device(const struct vr_opts *o, struct vr_aliases *al,
		   const char *addr, struct vr_auto_choice *c);
void vr_auto_explain(const struct vr_auto_choice *c, char *buf, size_t size);
int vr_auto_resolve(const struct vr_opts *o, const char *cmd,
		    struct vr_selector *sels, int n);
int vr_sels_join(const struct vr_selector *sels, int n, char *list,
		 size_t size);

/* The subcommands. */
int vr_cmd_status(const struct vr_opts *o, int argc, char **argv);
int vr_cmd_list(const struct vr_opts *o, int argc, char **argv);
int vr_cmd_groups(const struct vr_opts *o, int argc, char **argv);
int vr_cmd_rules(const struct vr_opts *o, int argc, char **argv);
int vr_cmd_add(const struct vr_opts *o, int argc, char **argv);
int vr_cmd_remove(const struct vr_opts *o, int argc, char **argv);
int vr_cmd_claim(const struct vr_opts *o, int argc, char **argv);
int vr_cmd_release(const struct vr_opts *o, int argc, char **argv);
int vr_cmd_check(const struct vr_opts *o, int argc, char **argv);
int vr_cmd_monitor(const struct vr_opts *o, int argc, char **argv);
int vr_cmd_qemu(const struct vr_opts *o, int argc, char **argv);
int vr_cmd_attach(const struct vr_opts *o, int argc, char **argv);
int vr_cmd_detach(const struct vr_opts *o, int argc, char **argv);
int vr_cmd_libvirt(const struct vr_opts *o, int argc, char **argv);
int vr_cmd_sriov(const struct vr_opts *o, int argc, char **argv);
int vr_cmd_persist(const struct vr_opts *o, int argc, char **argv);
int vr_cmd_unpersist(const struct vr_opts *o, int argc, char **argv);

#endif /* VR_HELPER_H */
