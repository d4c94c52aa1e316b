// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The vfio-reserve authors.
 *
 * Status facts of PCI functions and IOMMU groups, read for netlink replies.
 */
#include <linux/iommu.h>
#include <linux/irqdomain.h>
#include <linux/msi.h>
#include <linux/pci.h>
#include <linux/rcupdate.h>
#include <linux/string.h>

#include "status.h"

/*
 * Names of pci_reset_fn_methods[] (drivers/pci/pci.c) by index, as sysfs
 * reset_method prints them. Upstream only appends (6.7 added cxl_bus), so
 * one table serves every kernel; an index past it is shown by number.
 */
static const char *const vr_reset_names[] = {
	"", "device_specific", "acpi", "flr", "af_flr", "pm", "bus", "cxl_bus",
};

static void vr_reset_methods(struct pci_dev *pdev, char *buf, size_t size)
{
	size_t len = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < PCI_NUM_RESET_METHODS; i++) {
		u8 m = pdev->reset_methods[i];

		if (!m)
			break;
		if (m < ARRAY_SIZE(vr_reset_names))
			len += scnprintf(buf + len, size - len, "%s%s",
					 len ? " " : "", vr_reset_names[m]);
		else
			len += scnprintf(buf + len, size - len, "%smethod%u",
					 len ? " " : "", m);
	}
}

static bool vr_intr_remap(struct pci_dev *pdev)
{
	return vr_iommu_intr_remap(&pdev->dev) || vr_msi_isolated(&pdev->dev);
}

u64 vr_addr_key(struct pci_dev *pdev)
{
	return ((u64)pci_domain_nr(pdev->bus) << 16) |
	       ((u64)pdev->bus->number << 8) | pdev->devfn;
}

/* The device at "dddd:bb:ss.f" exactly as sysfs names it, referenced. */
struct pci_dev *vr_pci_by_addr(const char *addr)
{
	unsigned int domain, bus, slot, func;
	struct pci_dev *pdev;
	char end;

	if (sscanf(addr, "%8x:%2x:%2x.%1x%c", &domain, &bus, &slot, &func,
		   &end) != 4 || slot > 0x1f || func > 7)
		return NULL;
	pdev = pci_get_domain_bus_and_slot(domain, bus, PCI_DEVFN(slot, func));
	/* sscanf takes "0:0:2.0" too: only the canonical name is an address. */
	if (pdev && strcmp(pci_name(pdev), addr)) {
		pci_dev_put(pdev);
		return NULL;
	}
	return pdev;
}

/*
 * @pdev's driver, read without the device lock as dev_driver_string()
 * reads it: a netlink reader must never wait for a probe (see netlink.c).
 * A driver unbinds from every device before its module goes, and
 * free_module() frees the module's memory only after an RCU grace period,
 * so the driver read under rcu_read_lock() stays valid while it is read.
 *
 * Its name goes to @driver. Return: whether it keeps the group from being
 * viable, that is whether it uses the kernel's DMA API (the core then
 * refuses a user the group; vfio-pci, pci-stub and pcieport manage DMA
 * themselves).
 */
bool vr_driver_peek(struct pci_dev *pdev, char *driver, size_t size)
{
	struct device_driver *drv;
	bool blocks;

	rcu_read_lock();
	drv = READ_ONCE(pdev->dev.driver);
	strscpy(driver, drv ? drv->name : "", size);
	blocks = drv && !to_pci_driver(drv)->driver_managed_dma;
	rcu_read_unlock();
	return blocks;
}

void vr_pci_ids(struct pci_dev *pdev, struct vr_pci_ids *id)
{
	memset(id, 0, sizeof(*id));
	id->domain = pci_domain_nr(pdev->bus);
	id->bus = pdev->bus->number;
	id->slot = PCI_SLOT(pdev->devfn);
	id->func = PCI_FUNC(pdev->devfn);
	id->vendor = pdev->vendor;
	id->device = pdev->device;
	id->subvendor = pdev->subsystem_vendor;
	id->subdevice = pdev->subsystem_device;
	id->class = pdev->class;
#ifdef CONFIG_PCI_IOV
	if (pdev->is_virtfn) {
		struct pci_dev *pf = pdev->physfn;

		id->is_vf = true;
		id->pf_domain = pci_domain_nr(pf->bus);
		id->pf_bus = pf->bus->number;
		id->pf_slot = PCI_SLOT(pf->devfn);
		id->pf_func = PCI_FUNC(pf->devfn);
	}
#endif
}

/* Only plain endpoints: never a bridge, whatever its header says. */
bool vr_eligible(struct pci_dev *pdev)
{
	return pdev->hdr_type == PCI_HEADER_TYPE_NORMAL &&
	       (pdev->class >> 16) != PCI_BASE_CLASS_BRIDGE;
}

static int vr_count_dma_drivers(struct device *dev, void *data)
{
	char drv[VR_DRV_NAME_SIZE];
	unsigned int *n = data;

	if (dev_is_pci(dev) && vr_driver_peek(to_pci_dev(dev), drv, sizeof(drv)))
		(*n)++;
	return 0;
}

/* The VFIO device of a PCI function, as vr_vfio_get() finds it. */
struct vr_vfio {
	char cdev[VR_VFIO_NAME_SIZE];
	bool open;
};

static int vr_vfio_child(struct device *child, void *data)
{
	struct vr_vfio *v = data;

	if (!child->class || strcmp(child->class->name, "vfio-dev"))
		return 0;
	/* A cdev (CONFIG_VFIO_DEVICE_CDEV) gives it a device number. */
	if (child->devt)
		strscpy(v->cdev, dev_name(child), sizeof(v->cdev));
	v->open = vr_vfio_open(child);
	return 1;
}

/*
 * The VFIO device a VFIO driver (vfio-pci or a variant) registered for
 * @pdev: its child in class vfio-dev, which exists while that driver is
 * bound. The walk of the children holds a reference on each.
 */
static void vr_vfio_get(struct pci_dev *pdev, struct vr_vfio *v)
{
	memset(v, 0, sizeof(*v));
	device_for_each_child(&pdev->dev, v, vr_vfio_child);
}

static int vr_member_vfio_open(struct device *dev, void *data)
{
	struct vr_vfio v;

	if (dev_is_pci(dev)) {
		vr_vfio_get(to_pci_dev(dev), &v);
		if (v.open)
			*(bool *)data = true;
	}
	return 0;
}

/*
 * In use by a user (a VFIO container or iommufd, that is a VM), by
 * whichever path. The core counts kernel drivers using the DMA API as
 * owners too, but the two can never own a group together, so a claimed
 * group without such a driver is claimed by a user. A cdev open but not
 * yet bound to an iommufd claims nothing, nor does a group's device fd
 * before its container is set: an open VFIO device of any member counts
 * as well, because unbinding its driver would wait for that user.
 */
bool vr_group_in_use(struct pci_dev *pdev)
{
	struct iommu_group *group = iommu_group_get(&pdev->dev);
	unsigned int kernel_users = 0;
	bool claimed, open = false;

	if (!group)
		return false;
	claimed = iommu_group_dma_owner_claimed(group);
	if (claimed)
		iommu_group_for_each_dev(group, &kernel_users,
					 vr_count_dma_drivers);
	iommu_group_for_each_dev(group, &open, vr_member_vfio_open);
	iommu_group_put(group);
	return (claimed && !kernel_users) || open;
}

void vr_facts_get(struct pci_dev *pdev, struct vr_facts *f)
{
	struct iommu_group *group;
	struct vr_vfio vfio;

	memset(f, 0, sizeof(*f));
	strscpy(f->addr, pci_name(pdev), sizeof(f->addr));
	vr_pci_ids(pdev, &f->ids);
	/* No device lock: see vr_driver_peek() and vr_override_peek(). */
	vr_driver_peek(pdev, f->driver, sizeof(f->driver));
	vr_override_peek(&pdev->dev, f->override, sizeof(f->override));

	group = iommu_group_get(&pdev->dev);
	if (group) {
		f->has_group = true;
		f->group = iommu_group_id(group);
		f->msi_isolated = vr_group_msi_isolated(group);
		iommu_group_put(group);
	}
	f->intr_remap = vr_intr_remap(pdev);
	f->in_use = vr_group_in_use(pdev);
	vr_vfio_get(pdev, &vfio);
	f->vfio_open = vfio.open;
	strscpy(f->vfio_cdev, vfio.cdev, sizeof(f->vfio_cdev));
	f->bridge = !vr_eligible(pdev);
	vr_reset_methods(pdev, f->reset, sizeof(f->reset));
#ifdef CONFIG_PCI_IOV
	if (pdev->is_physfn) {
		f->is_pf = true;
		f->totalvfs = pci_sriov_get_totalvfs(pdev);
		f->numvfs = pci_num_vf(pdev);
	}
	if (pdev->is_virtfn)
		strscpy(f->pf_addr, pci_name(pdev->physfn), sizeof(f->pf_addr));
#endif
}

static int vr_totals_one(struct device *dev, void *data)
{
	struct pci_dev *pdev = to_pci_dev(dev);
	struct iommu_group *group = iommu_group_get(&pdev->dev);
	struct vr_totals *t = data;

	if (!group)
		return 0;
	iommu_group_put(group);
	t->iommu = true;
	if (!vr_intr_remap(pdev))
		t->intr_remap = false;
	return 0;
}

void vr_totals_get(struct vr_totals *t)
{
	memset(t, 0, sizeof(*t));
	t->intr_remap = true;
	vr_for_each_pci_dev(t, vr_totals_one);
	t->intr_remap &= t->iommu;
}
