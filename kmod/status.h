/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The vfio-reserve authors.
 *
 * The facts that decide whether a device can be assigned, in one place:
 * what the PCI core, the IOMMU layer and the device say. The bottom layer
 * of the module; it knows nothing of rules or reservations (reserve.h adds
 * those to a vr_facts).
 */
#ifndef VR_STATUS_H
#define VR_STATUS_H

#include <linux/pci.h>

#include "selector.h"
#include "uapi/linux/vfio_reserve.h"

#define VR_DRV_NAME_SIZE	32
#define VR_OVERRIDE_SIZE	64
#define VR_RESET_SIZE		64
#define VR_VFIO_NAME_SIZE	16	/* "vfio" and an index */

struct vr_facts {
	char addr[VFIO_RESERVE_ADDR_SIZE];
	struct vr_pci_ids ids;
	char driver[VR_DRV_NAME_SIZE];
	char override[VR_OVERRIDE_SIZE];
	/* from vr_reservation_get(), 0 and "" when not reserved */
	enum vfio_reserve_state state;
	char rule[VR_SEL_TEXT_SIZE];
	char prev_driver[VR_DRV_NAME_SIZE];
	char target[VR_DRV_NAME_SIZE];
	enum vfio_reserve_target_error target_err;
	bool has_group;
	u32 group;
	bool intr_remap;
	bool msi_isolated;	/* the whole group's */
	bool in_use;
	bool vfio_open;
	char vfio_cdev[VR_VFIO_NAME_SIZE];	/* "" without a cdev */
	bool bridge;
	char reset[VR_RESET_SIZE];
	bool is_pf;
	u16 totalvfs;
	u16 numvfs;
	char pf_addr[VFIO_RESERVE_ADDR_SIZE];
};

struct vr_totals {
	bool iommu;
	bool intr_remap;
	u32 reserved;		/* from vr_reservation_count() */
	u32 pending;
	u32 target_failed;
};

void vr_pci_ids(struct pci_dev *pdev, struct vr_pci_ids *id);
bool vr_eligible(struct pci_dev *pdev);
bool vr_group_in_use(struct pci_dev *pdev);
void vr_facts_get(struct pci_dev *pdev, struct vr_facts *f);
bool vr_driver_peek(struct pci_dev *pdev, char *driver, size_t size);
void vr_totals_get(struct vr_totals *t);
u64 vr_addr_key(struct pci_dev *pdev);
struct pci_dev *vr_pci_by_addr(const char *addr);

/*
 * @fn(dev, @data) on every PCI function until it returns non-zero, which
 * is returned. Not for_each_pci_dev(): its pci_get_device() starts again
 * from the first device when the one it stands on was removed meanwhile
 * (klist_iter_init_node() on a dead node), so a walk during hot-unplug
 * sees devices twice. The bus walk's klist iterator keeps its place.
 */
#define vr_for_each_pci_dev(data, fn) \
	bus_for_each_dev(&pci_bus_type, NULL, data, fn)

#endif /* VR_STATUS_H */
