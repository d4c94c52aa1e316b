/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The vfio-reserve authors.
 *
 * Rules, reservations and the PCI bus notifier. Their state is reserve.c's
 * own, behind vr_lock: what the layers above need of it they get through
 * these functions, as copies.
 */
#ifndef VR_RESERVE_H
#define VR_RESERVE_H

#include <linux/netlink.h>
#include <linux/pci.h>
#include <linux/workqueue.h>

#include "selector.h"
#include "status.h"
#include "uapi/linux/vfio_reserve.h"

#define VR_DRIVER		"vfio-pci"
#define VR_CLAIM_RULE		"claim"
#define VR_MAX_RULES		256

enum vr_reclaim {
	VR_RECLAIM_NONE,	/* only devices with no driver */
	VR_RECLAIM_STUB,	/* ... or bound to pci-stub */
	VR_RECLAIM_ALL,		/* ... or bound to any driver */
};

/* Set once, before vr_reserve_init(); read-only afterwards. */
struct vr_config {
	enum vr_reclaim reclaim;
	bool dry_run;
};

/* A copy of one rule (vr_rule_get()). */
struct vr_rule {
	struct vr_selector sel;
	enum vfio_reserve_origin origin;
	u64 id;			/* grows with each rule added: a dump's cursor */
};

/*
 * What happened to a device, for whoever listens (netlink's multicast
 * group). Called with no lock of the module held, possibly from the bus
 * notifier; @driver and @rule may be NULL.
 */
typedef void (*vr_event_fn)(enum vfio_reserve_event kind,
			    struct pci_dev *pdev, const char *driver,
			    const char *rule);

void vr_config_set(const struct vr_config *config);
void vr_config_get(struct vr_config *config);
int vr_reserve_init(vr_event_fn event);
bool vr_run_ordered(struct work_struct *work);
unsigned int vr_bus_generation(void);
void vr_reserve_stop(void);
void vr_reserve_exit(void);

int vr_rules_add(const char *list, enum vfio_reserve_origin origin,
		 struct vr_sel_error *err);
int vr_rules_del(const char *list, struct vr_sel_error *err);
unsigned int vr_rules_count(void);
bool vr_rule_get(u64 from, struct vr_rule *rule);
void vr_rules_apply(void);
void vr_rules_clear(void);

int vr_claim(struct pci_dev *pdev, struct netlink_ext_ack *extack);
int vr_release(struct pci_dev *pdev, struct netlink_ext_ack *extack);

void vr_reservation_get(struct pci_dev *pdev, struct vr_facts *f);
void vr_reservation_count(struct vr_totals *t);
const char *vr_reclaim_name(enum vr_reclaim r);
int vr_reclaim_parse(const char *s, enum vr_reclaim *r);

#endif /* VR_RESERVE_H */
