/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause) */
/*
 * Copyright (C) 2026 The vfio-reserve authors.
 *
 * The vfio-reserve generic netlink family (of the module vfio_reserve).
 *
 * Family VFIO_RESERVE_FAMILY_NAME ("vfio-reserve", as upstream's genetlink
 * schema wants family names: lower case, digits and dashes), version
 * VFIO_RESERVE_FAMILY_VERSION, in the initial network namespace only (PCI
 * devices are global). Before the first release it was "vfio_reserve"; no
 * release ever used that name, so nothing resolves it any more. Multicast
 * group VFIO_RESERVE_MCGRP_EVENTS. kmod/uapi/vfio_reserve.yaml describes the
 * same family as a YNL spec; `make check` keeps the two in agreement.
 *
 * Every request is validated strictly against the policy of its command:
 * an unknown attribute, a wrong type or length, or a missing required
 * attribute is refused with -EINVAL and an extack message naming it. As
 * the kernel asks of new families, the family leaves resv_start_op at 0:
 * every command, on every kernel it supports (6.1 on), has its reserved
 * header bytes checked and its policy enforced, with no legacy exemption.
 * Commands marked (admin) take devices from their drivers: they need
 * CAP_NET_ADMIN (GENL_ADMIN_PERM) and CAP_SYS_ADMIN (checked by the module)
 * and fail with -EPERM otherwise; the others work for any user.
 *
 * Errors, for every command (an extack message says which case):
 *   -EINVAL      the request breaks the command's policy; a selector list
 *                with a bad token or more than 64 selectors; a claim of a
 *                bridge or other non-endpoint function
 *   -EPERM       an (admin) command without CAP_NET_ADMIN and CAP_SYS_ADMIN
 *   -ENODEV      no PCI function at that address (or removed meanwhile)
 *   -ENOENT      no such IOMMU group (GROUP_GET), rule (RULE_DEL) or
 *                reservation (DEVICE_RELEASE)
 *   -EBUSY       the device's IOMMU group is in use by a VFIO user (IN_USE)
 *   -EAGAIN      the device is being added (hotplug): try again
 *   -ENOSPC      RULE_ADD would pass the module's limit of 256 rules
 *   -EOPNOTSUPP  DEVICE_CLAIM while the module runs with dry_run=1
 *   -ENOMEM      out of memory; nothing was changed
 *
 * DEVICE_CLAIM, DEVICE_RELEASE and RULE_ADD bind and unbind drivers, which
 * the module does on its own ordered queue, never in the request's
 * handler: their reply and ack come when that is done, in order, as for
 * any request. Reads never wait for a device's lock.
 *
 * A device address (ADDR attributes) is the string "dddd:bb:ss.f", as in
 * sysfs: the domain has 4 hex digits or more (up to 8; Intel VMD's start
 * at 10000). Strings are NUL terminated.
 *
 * VFIO_RESERVE_CMD_STATUS_GET (do)
 *   request:  nothing
 *   reply:    VFIO_RESERVE_A_STATUS_* - module version, IOMMU present,
 *             interrupt remapping, reclaim policy, dry run, rule count,
 *             reserved and pending device counts, the number of reserved
 *             devices left unbound because their target driver cannot be
 *             loaded or is not a VFIO driver (TARGET_FAILED), and
 *             CONFIG_ERROR when the devices= or reclaim= parameter was
 *             rejected at load.
 *
 * VFIO_RESERVE_CMD_DEVICE_GET (do, dump)
 *   do:       VFIO_RESERVE_A_DEV_ADDR required; -ENODEV if no such device.
 *   dump:     no attributes; one message per PCI function, in address
 *             order. A dump resumes after the last address it emitted, so
 *             devices added or removed meanwhile never repeat an entry.
 *   reply:    VFIO_RESERVE_A_DEV_* - ADDR, VENDOR, DEVICE, SUBVENDOR,
 *             SUBDEVICE, CLASS, STATE, and when they apply: DRIVER,
 *             OVERRIDE, RULE, PREV_DRIVER, IOMMU_GROUP, TARGET (the
 *             driver a reserved or pending device is kept for: vfio-pci
 *             unless its rule names one) and TARGET_ERROR (when that
 *             driver cannot have it: the device stays unbound, never
 *             given to a native driver); always INTR_REMAP,
 *             IN_USE, RESET_METHODS (may be ""), BRIDGE, MSI_ISOLATED,
 *             VFIO_OPEN; SRIOV_TOTALVFS and SRIOV_NUMVFS for a physical
 *             function, PF_ADDR for a VF; VFIO_CDEV for a device bound to
 *             a VFIO driver on a kernel with VFIO device cdevs
 *             (CONFIG_VFIO_DEVICE_CDEV, 6.6 on).
 *
 *             IN_USE: a user (a VM) holds the device's IOMMU group, by
 *             whichever path: the group is claimed for DMA (a VFIO
 *             container, or a cdev bound to an iommufd), or a VFIO
 *             device of the group is open (its cdev, even before it is
 *             bound to an iommufd; a device fd got from its group).
 *             VFIO_OPEN: this device's own VFIO device is open.
 *             MSI_ISOLATED: every member of the group has isolated MSI
 *             (interrupt remapping, or an MSI controller that isolates),
 *             which iommufd requires of a bind unless its
 *             allow_unsafe_interrupts parameter is set; the same as
 *             INTR_REMAP for every member before 6.3.
 *
 * VFIO_RESERVE_CMD_GROUP_GET (do, dump)
 *   do:       VFIO_RESERVE_A_GROUP_ID required; -ENOENT if no such group.
 *   dump:     no attributes; one message per IOMMU group holding a PCI
 *             function, by increasing id, resuming after the last id.
 *   reply:    VFIO_RESERVE_A_GROUP_ID, VIABLE, IN_USE and one nested
 *             VFIO_RESERVE_A_GROUP_MEMBER per member, holding
 *             VFIO_RESERVE_A_MEMBER_ADDR, DRIVER (when bound) and BLOCKS
 *             (1 when this member keeps the group from being viable: it
 *             is bound to a driver that uses the kernel's DMA API).
 *
 * VFIO_RESERVE_CMD_RULE_GET (dump)
 *   reply:    VFIO_RESERVE_A_RULE_SELECTOR (canonical text) and
 *             VFIO_RESERVE_A_RULE_ORIGIN, one message per rule, in order.
 *
 * VFIO_RESERVE_CMD_RULE_ADD (do, admin)
 *   request:  VFIO_RESERVE_A_RULE_SELECTOR_LIST: a non-empty selector
 *             list (comma separated). All or
 *             nothing: a bad token fails with -EINVAL, the extack
 *             pointing at the list, its message naming the token's number
 *             and position and why (a fixed message on kernels before
 *             6.2, which have no formatted ones); rules already present
 *             are skipped. A selector may name its target driver,
 *             SELECTOR@DRIVER (vfio-reserve(8)); "@auto" is refused.
 *             Present devices that match are reserved as at load time.
 *   reply:    VFIO_RESERVE_A_RULE_COUNT, the number of rules added.
 *
 * VFIO_RESERVE_CMD_RULE_DEL (do, admin)
 *   request:  VFIO_RESERVE_A_RULE_SELECTOR_LIST: a selector list, each equal
 *             to a rule (-ENOENT, nothing removed, otherwise). Devices
 *             stay reserved; pending ones of a removed rule are dropped.
 *   reply:    VFIO_RESERVE_A_RULE_COUNT, the number of rules removed.
 *
 * VFIO_RESERVE_CMD_DEVICE_CLAIM (do, admin)
 *   request:  VFIO_RESERVE_A_DEV_ADDR. Reserves the device now and binds
 *             it to vfio-pci, from whatever driver it has. -EBUSY when
 *             its IOMMU group is in use, -EINVAL for a bridge, -ENODEV
 *             when it is removed meanwhile (nothing is kept of it).
 *   reply:    the device, as DEVICE_GET.
 *
 * VFIO_RESERVE_CMD_DEVICE_RELEASE (do, admin)
 *   request:  VFIO_RESERVE_A_DEV_ADDR. Restores the device's previous
 *             driver_override, unbinds vfio-pci and lets the core probe
 *             the device again. -EBUSY while its IOMMU group is in use
 *             (IN_USE, above: a VM): nothing is changed then. -ENOENT when the
 *             device is not reserved, -EAGAIN when it is being added
 *             (hotplug) and its reservation is not complete yet.
 *   reply:    the device, as DEVICE_GET.
 *
 * VFIO_RESERVE_CMD_EVENT (multicast on "events")
 *   VFIO_RESERVE_A_EVENT_KIND (enum vfio_reserve_event), EVENT_ADDR, and
 *   where they apply EVENT_DRIVER (bound, unbound: the driver; pending: the
 *   driver that holds it; reserved: the target; target-failed: the target
 *   that cannot be loaded or is not a VFIO driver, sent when that becomes
 *   so) and EVENT_RULE (reserved, released, pending, target-failed). Built
 *   only while someone listens.
 */
#ifndef _UAPI_LINUX_VFIO_RESERVE_H
#define _UAPI_LINUX_VFIO_RESERVE_H

#define VFIO_RESERVE_FAMILY_NAME	"vfio-reserve"
#define VFIO_RESERVE_FAMILY_VERSION	1
#define VFIO_RESERVE_MCGRP_EVENTS	"events"

/* Longest ADDR string with its NUL: "dddddddd:bb:ss.f". */
#define VFIO_RESERVE_ADDR_SIZE		17
/* Longest selector list accepted in RULE_ADD and RULE_DEL. */
#define VFIO_RESERVE_SELECTOR_LIST_MAX	2048

enum vfio_reserve_cmd {
	VFIO_RESERVE_CMD_UNSPEC,
	VFIO_RESERVE_CMD_STATUS_GET,
	VFIO_RESERVE_CMD_DEVICE_GET,
	VFIO_RESERVE_CMD_GROUP_GET,
	VFIO_RESERVE_CMD_RULE_GET,
	VFIO_RESERVE_CMD_RULE_ADD,
	VFIO_RESERVE_CMD_RULE_DEL,
	VFIO_RESERVE_CMD_DEVICE_CLAIM,
	VFIO_RESERVE_CMD_DEVICE_RELEASE,
	VFIO_RESERVE_CMD_EVENT,

	__VFIO_RESERVE_CMD_MAX,
	VFIO_RESERVE_CMD_MAX = __VFIO_RESERVE_CMD_MAX - 1
};

enum vfio_reserve_a_status {
	VFIO_RESERVE_A_STATUS_UNSPEC,
	VFIO_RESERVE_A_STATUS_VERSION,		/* string */
	VFIO_RESERVE_A_STATUS_IOMMU,		/* u8: a PCI device has a group */
	VFIO_RESERVE_A_STATUS_INTR_REMAP,	/* u8: all grouped devices */
	VFIO_RESERVE_A_STATUS_RECLAIM,		/* string: none, stub, all */
	VFIO_RESERVE_A_STATUS_DRY_RUN,		/* u8 */
	VFIO_RESERVE_A_STATUS_RULES,		/* u32 */
	VFIO_RESERVE_A_STATUS_RESERVED,		/* u32 */
	VFIO_RESERVE_A_STATUS_PENDING,		/* u32 */
	VFIO_RESERVE_A_STATUS_CONFIG_ERROR,	/* string */
	VFIO_RESERVE_A_STATUS_TARGET_FAILED,	/* u32 */

	__VFIO_RESERVE_A_STATUS_MAX,
	VFIO_RESERVE_A_STATUS_MAX = __VFIO_RESERVE_A_STATUS_MAX - 1
};

/* VFIO_RESERVE_A_DEV_STATE */
enum vfio_reserve_state {
	VFIO_RESERVE_STATE_NONE,	/* no rule matches, not claimed */
	VFIO_RESERVE_STATE_RESERVED,	/* driver_override is the target */
	VFIO_RESERVE_STATE_PENDING,	/* matched, held by a native driver */
};

/* VFIO_RESERVE_A_DEV_TARGET_ERROR: why a reserved device has no driver */
enum vfio_reserve_target_error {
	VFIO_RESERVE_TARGET_ERROR_OK,		/* none: the target is there */
	VFIO_RESERVE_TARGET_ERROR_MISSING,	/* not registered, modprobe failed */
	VFIO_RESERVE_TARGET_ERROR_NOT_VFIO,	/* uses the DMA API: never a target */
};

enum vfio_reserve_a_dev {
	VFIO_RESERVE_A_DEV_UNSPEC,
	VFIO_RESERVE_A_DEV_ADDR,		/* string */
	VFIO_RESERVE_A_DEV_VENDOR,		/* u16 */
	VFIO_RESERVE_A_DEV_DEVICE,		/* u16 */
	VFIO_RESERVE_A_DEV_SUBVENDOR,		/* u16 */
	VFIO_RESERVE_A_DEV_SUBDEVICE,		/* u16 */
	VFIO_RESERVE_A_DEV_CLASS,		/* u32: 24-bit class code */
	VFIO_RESERVE_A_DEV_DRIVER,		/* string */
	VFIO_RESERVE_A_DEV_OVERRIDE,		/* string: driver_override (*) */
	VFIO_RESERVE_A_DEV_STATE,		/* u8: enum vfio_reserve_state */
	VFIO_RESERVE_A_DEV_RULE,		/* string: selector or "claim" */
	VFIO_RESERVE_A_DEV_PREV_DRIVER,		/* string: driver before */
	VFIO_RESERVE_A_DEV_IOMMU_GROUP,		/* u32 */
	VFIO_RESERVE_A_DEV_INTR_REMAP,		/* u8: IR or isolated MSI */
	VFIO_RESERVE_A_DEV_IN_USE,		/* u8: group claimed by a user */
	VFIO_RESERVE_A_DEV_RESET_METHODS,	/* string: as sysfs reset_method */
	VFIO_RESERVE_A_DEV_BRIDGE,		/* u8: never reserved */
	VFIO_RESERVE_A_DEV_SRIOV_TOTALVFS,	/* u16: physical function */
	VFIO_RESERVE_A_DEV_SRIOV_NUMVFS,	/* u16: physical function */
	VFIO_RESERVE_A_DEV_PF_ADDR,		/* string: virtual function */
	VFIO_RESERVE_A_DEV_TARGET,		/* string: driver reserved for */
	VFIO_RESERVE_A_DEV_TARGET_ERROR,	/* u8: enum vfio_reserve_target_error */
	VFIO_RESERVE_A_DEV_VFIO_CDEV,		/* string: node in /dev/vfio/devices/ */
	VFIO_RESERVE_A_DEV_VFIO_OPEN,		/* u8: a user has its VFIO device open */
	VFIO_RESERVE_A_DEV_MSI_ISOLATED,	/* u8: every member of its group */

	__VFIO_RESERVE_A_DEV_MAX,
	VFIO_RESERVE_A_DEV_MAX = __VFIO_RESERVE_A_DEV_MAX - 1
};

/*
 * (*) Absent when not set. Also absent when it could not be read without
 * waiting: kernels before the generic driver_override (7.1, 6.12.y) keep
 * it under the device lock, which a probe or an unbind may hold.
 */

enum vfio_reserve_a_group {
	VFIO_RESERVE_A_GROUP_UNSPEC,
	VFIO_RESERVE_A_GROUP_ID,		/* u32 */
	VFIO_RESERVE_A_GROUP_VIABLE,		/* u8 */
	VFIO_RESERVE_A_GROUP_IN_USE,		/* u8 */
	VFIO_RESERVE_A_GROUP_MEMBER,		/* nest: vfio_reserve_a_member */

	__VFIO_RESERVE_A_GROUP_MAX,
	VFIO_RESERVE_A_GROUP_MAX = __VFIO_RESERVE_A_GROUP_MAX - 1
};

enum vfio_reserve_a_member {
	VFIO_RESERVE_A_MEMBER_UNSPEC,
	VFIO_RESERVE_A_MEMBER_ADDR,		/* string */
	VFIO_RESERVE_A_MEMBER_DRIVER,		/* string */
	VFIO_RESERVE_A_MEMBER_BLOCKS,		/* u8 */

	__VFIO_RESERVE_A_MEMBER_MAX,
	VFIO_RESERVE_A_MEMBER_MAX = __VFIO_RESERVE_A_MEMBER_MAX - 1
};

/* VFIO_RESERVE_A_RULE_ORIGIN */
enum vfio_reserve_origin {
	VFIO_RESERVE_ORIGIN_PARAM = 1,	/* the devices= module parameter */
	VFIO_RESERVE_ORIGIN_USER,	/* RULE_ADD */
};

enum vfio_reserve_a_rule {
	VFIO_RESERVE_A_RULE_UNSPEC,
	VFIO_RESERVE_A_RULE_SELECTOR,		/* string: one selector */
	VFIO_RESERVE_A_RULE_ORIGIN,		/* u8: enum vfio_reserve_origin */
	VFIO_RESERVE_A_RULE_COUNT,		/* u32 */
	VFIO_RESERVE_A_RULE_SELECTOR_LIST,	/* string: a selector list */

	__VFIO_RESERVE_A_RULE_MAX,
	VFIO_RESERVE_A_RULE_MAX = __VFIO_RESERVE_A_RULE_MAX - 1
};

/* VFIO_RESERVE_A_EVENT_KIND */
enum vfio_reserve_event {
	VFIO_RESERVE_EVENT_ADDED = 1,	/* a PCI function appeared */
	VFIO_RESERVE_EVENT_REMOVED,	/* ... and went away */
	VFIO_RESERVE_EVENT_RESERVED,	/* driver_override set to the target */
	VFIO_RESERVE_EVENT_RELEASED,	/* given back */
	VFIO_RESERVE_EVENT_BOUND,	/* a driver bound */
	VFIO_RESERVE_EVENT_UNBOUND,	/* a driver is unbinding */
	VFIO_RESERVE_EVENT_PENDING,	/* matched, left with its driver */
	VFIO_RESERVE_EVENT_TARGET_FAILED, /* the target cannot have it */
};

enum vfio_reserve_a_event {
	VFIO_RESERVE_A_EVENT_UNSPEC,
	VFIO_RESERVE_A_EVENT_KIND,		/* u8: enum vfio_reserve_event */
	VFIO_RESERVE_A_EVENT_ADDR,		/* string */
	VFIO_RESERVE_A_EVENT_DRIVER,		/* string */
	VFIO_RESERVE_A_EVENT_RULE,		/* string */

	__VFIO_RESERVE_A_EVENT_MAX,
	VFIO_RESERVE_A_EVENT_MAX = __VFIO_RESERVE_A_EVENT_MAX - 1
};

#endif /* _UAPI_LINUX_VFIO_RESERVE_H */
