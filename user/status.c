// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The vfio-reserve authors.
 *
 * status: is this host ready for device assignment? PASS, WARN or FAIL for
 * each fact, every FAIL with its fix. Works without the module, with what
 * the host alone can tell.
 */
#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "vfio-reserve.h"
#include "kconfig.h"	/* generated from selftests/config */

enum vr_level { VR_PASS, VR_WARN, VR_FAIL };

struct vr_report {
	const struct vr_opts *o;
	struct vr_json j;
	unsigned int fails, warns;
};

static void vr_line(struct vr_report *r, enum vr_level level, const char *name,
		    const char *fix, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void vr_line(struct vr_report *r, enum vr_level level, const char *name,
		    const char *fix, const char *fmt, ...)
{
	static const char *const words[] = { "PASS", "WARN", "FAIL" };
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r->fails += level == VR_FAIL;
	r->warns += level == VR_WARN;
	if (r->o->json) {
		vr_json_open(&r->j, NULL, '{');
		vr_json_str(&r->j, "check", name);
		vr_json_str(&r->j, "result", words[level]);
		vr_json_str(&r->j, "message", msg);
		if (fix && level != VR_PASS)
			vr_json_str(&r->j, "fix", fix);
		else
			vr_json_null(&r->j, "fix");
		vr_json_close(&r->j, '}');
		return;
	}
	printf("%s  %s\n", words[level], msg);
	if (fix && level != VR_PASS)
		printf("      fix: %s\n", fix);
}

static bool vr_exists(const struct vr_opts *o, const char *rel)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", o->sysfs, rel);
	return !access(path, F_OK);
}

/* AMD-Vi rather than VT-d: the firmware's table says, else the CPU. */
static bool vr_amd_cpu(const struct vr_opts *o)
{
	char path[PATH_MAX], line[256];
	bool amd = false;
	FILE *f;

	if (vr_exists(o, "firmware/acpi/tables/DMAR"))
		return false;
	if (vr_exists(o, "firmware/acpi/tables/IVRS"))
		return true;
	snprintf(path, sizeof(path), "%s/cpuinfo", o->proc);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!amd && fgets(line, sizeof(line), f))
		amd = !strncmp(line, "vendor_id", 9) && strstr(line, "AuthenticAMD");
	fclose(f);
	return amd;
}

static unsigned int vr_count_groups(const struct vr_opts *o)
{
	char path[PATH_MAX];
	unsigned int n = 0;
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "%s/kernel/iommu_groups", o->sysfs);
	d = opendir(path);
	if (!d)
		return 0;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Is @word one of the kernel command line's arguments? */
static bool vr_cmdline_has(const struct vr_opts *o, const char *word)
{
	char path[PATH_MAX], line[4096], *tok, *save;

	snprintf(path, sizeof(path), "%s/cmdline", o->proc);
	if (vr_read_line(path, line, sizeof(line)))
		return false;
	for (tok = strtok_r(line, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save))
		if (!strcmp(tok, word))
			return true;
	return false;
}

#define VR_GRUB "the kernel command line (GRUB_CMDLINE_LINUX in /etc/default/grub, then update-grub) and reboot"
#define VR_PT_OPTIONAL "iommu=pt is optional: passthrough for host devices"

/*
 * AMD-Vi takes no argument to be on: the kernel starts it whenever the
 * firmware has an IVRS table and the kernel has CONFIG_AMD_IOMMU, unless
 * booted with amd_iommu=off or iommu=off. ("amd_iommu=on" is no value.)
 */
static const char *vr_amd_iommu_fix(const struct vr_opts *o, char *fix, size_t size)
{
	static const char *const offs[] = { "amd_iommu=off", "iommu=off" };
	size_t i;

	for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++)
		if (vr_cmdline_has(o, offs[i])) {
			snprintf(fix, size, "remove %s from " VR_GRUB "; AMD-Vi takes no argument to be on (" VR_PT_OPTIONAL ")",
				 offs[i]);
			return fix;
		}
	if (!vr_exists(o, "firmware/acpi/tables/IVRS"))
		return "enable the IOMMU (AMD-Vi; the IOMMU option, often next to SVM Mode) in the firmware setup; AMD-Vi takes no kernel argument: do not boot with amd_iommu=off or iommu=off (" VR_PT_OPTIONAL ")";
	return "AMD-Vi takes no kernel argument: with the IVRS table there, it is on when the kernel has CONFIG_AMD_IOMMU (see kernel_config) and the IOMMU/AMD-Vi option (often beside SVM Mode) is enabled in the firmware setup. Do not boot with amd_iommu=off or iommu=off (" VR_PT_OPTIONAL "); dmesg | grep AMD-Vi says why it did not start";
}

/* VT-d is on with intel_iommu=on (or a kernel built to turn it on). */
static const char *vr_intel_iommu_fix(const struct vr_opts *o)
{
	if (vr_cmdline_has(o, "intel_iommu=off"))
		return "replace intel_iommu=off with intel_iommu=on in " VR_GRUB " (" VR_PT_OPTIONAL ")";
	if (vr_cmdline_has(o, "iommu=off"))
		return "remove iommu=off and add intel_iommu=on to " VR_GRUB " (" VR_PT_OPTIONAL ")";
	return "add intel_iommu=on to " VR_GRUB " (" VR_PT_OPTIONAL ")";
}

static void vr_check_iommu(struct vr_report *r, bool amd)
{
	const struct vr_opts *o = r->o;
	unsigned int groups = vr_count_groups(o);
	bool ivrs = vr_exists(o, "firmware/acpi/tables/IVRS");
	char fix[512];

	if (vr_exists(o, "firmware/acpi/tables/DMAR"))
		vr_line(r, VR_PASS, "firmware", NULL,
			"ACPI DMAR table present: Intel VT-d is enabled in the firmware");
	else if (ivrs)
		vr_line(r, VR_PASS, "firmware", NULL,
			"ACPI IVRS table present: AMD-Vi is enabled in the firmware");
	else
		vr_line(r, VR_FAIL, "firmware",
			"enable VT-d (Intel) or AMD-Vi/IOMMU (AMD) in the firmware setup",
			"no DMAR or IVRS ACPI table: the firmware does not expose an IOMMU");
	if (groups && amd)
		vr_line(r, VR_PASS, "iommu", NULL, "IOMMU on: %u IOMMU groups%s",
			groups, ivrs ? " (AMD-Vi)" : "");
	else if (groups)
		vr_line(r, VR_PASS, "iommu", NULL, "IOMMU on: %u IOMMU groups%s",
			groups, vr_cmdline_has(o, "intel_iommu=on") ?
			", booted with intel_iommu=on" : "");
	else if (amd)
		vr_line(r, VR_FAIL, "iommu", vr_amd_iommu_fix(o, fix, sizeof(fix)),
			"IOMMU off: no IOMMU groups in /sys/kernel/iommu_groups%s",
			ivrs ? " (AMD-Vi did not start)" : "");
	else
		vr_line(r, VR_FAIL, "iommu", vr_intel_iommu_fix(o),
			"IOMMU off: no IOMMU groups in /sys/kernel/iommu_groups");
}

/*
 * Interrupts through a remapping domain in /proc/interrupts: their irq chip
 * names carry its "IR-" prefix, the same under VT-d and AMD-Vi (IR-IO-APIC,
 * IR-HPET-MSI, IR-PCI-MSI; IR-PCI-MSI-0000:01:00.0 or IR-PCI-MSIX-... since
 * per-device MSI domains).
 */
static bool vr_ir_chips(const struct vr_opts *o)
{
	char path[PATH_MAX], *line = NULL, *tok, *save;
	size_t cap = 0;
	bool ir = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/interrupts", o->proc);
	f = fopen(path, "re");
	if (!f)
		return false;
	/* One line per irq, one column per CPU: as long as it takes. */
	while (!ir && getline(&line, &cap, f) > 0)
		for (tok = strtok_r(line, " \t\n", &save); tok && !ir;
		     tok = strtok_r(NULL, " \t\n", &save))
			ir = !strncmp(tok, "IR-", 3) && tok[3];
	free(line);
	fclose(f);
	return ir;
}

/* The kernel log: /dev/kmsg, or TREE/dev/kmsg beside a test's TREE/sys. */
static FILE *vr_open_kmsg(const struct vr_opts *o)
{
	char path[PATH_MAX], *slash;
	FILE *f;
	int fd;

	if (!strcmp(o->sysfs, "/sys")) {
		snprintf(path, sizeof(path), "/dev/kmsg");
	} else {
		snprintf(path, sizeof(path), "%s", o->sysfs);
		slash = strrchr(path, '/');
		if (!slash)
			return NULL;
		snprintf(slash, sizeof(path) - (size_t)(slash - path), "/dev/kmsg");
	}
	/* Each read of /dev/kmsg is one record; at the end, EAGAIN. */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return NULL;
	}
	setvbuf(f, NULL, _IOFBF, 16384);
	return f;
}

/*
 * Which of @words the kernel log has (the first found), or -1: none, or the
 * log unreadable (dmesg_restrict without CAP_SYSLOG) or already overwritten.
 */
static int vr_kmsg_find(const struct vr_opts *o, const char *const *words, size_t n)
{
	char line[2048];
	int found = -1, lost = 0;
	size_t i;
	FILE *f;

	f = vr_open_kmsg(o);
	if (!f)
		return -1;
	while (found < 0) {
		if (!fgets(line, sizeof(line), f)) {
			/* EPIPE: records overwritten while reading; go on. */
			if (ferror(f) && errno == EPIPE && ++lost < 16) {
				clearerr(f);
				continue;
			}
			break;
		}
		for (i = 0; i < n && found < 0; i++)
			if (strstr(line, words[i]))
				found = (int)i;
	}
	fclose(f);
	return found;
}

/* What the kernel logged at boot about interrupt remapping. */
static const char *const vr_ir_log[] = {
	"AMD-Vi: Interrupt remapping enabled",
	"DMAR-IR: Enabled IRQ remapping",
	/*
	 * The IVRS table lacks an IO-APIC, or (7.x) names for the southbridge
	 * IO-APIC a function that is no SMBus or ISA bridge: "No southbridge
	 * IOAPIC found" just before.
	 */
	"AMD-Vi: Disabling interrupt remapping",
};
#define VR_IR_LOG_OFF 2

/*
 * What to do when interrupt remapping is off on this host: the kernel log's
 * reason when it gave one, else what turns it on for the IOMMU's vendor.
 */
const char *vr_ir_fix(const struct vr_opts *o)
{
	if (vr_kmsg_find(o, vr_ir_log, sizeof(vr_ir_log) / sizeof(vr_ir_log[0])) == VR_IR_LOG_OFF)
		return "the firmware's IVRS table does not describe the IO-APICs as the kernel expects (dmesg | grep AMD-Vi says which): update the firmware, or name them with ivrs_ioapic= on the kernel command line";
	if (vr_amd_cpu(o))
		return "enable the IOMMU (AMD-Vi) in the firmware setup and do not boot with intremap=off, amd_iommu=off or iommu=off: AMD-Vi remaps interrupts whenever it is on";
	return "enable x2APIC / interrupt remapping in the firmware and do not boot with intremap=off";
}

/**
 * vr_host_ir() - interrupt remapping on this host, without the module
 * @o: options
 * @why: filled with where the answer came from (the irq chips, or the
 *	kernel log's line), or with why there is none
 * @len: its size
 *
 * The irq chips first, then what the kernel logged at boot.
 *
 * Return: 1 on, 0 off, -1 cannot tell.
 */
int vr_host_ir(const struct vr_opts *o, char *why, size_t len)
{
	int logged;

	if (vr_ir_chips(o)) {
		snprintf(why, len, "IR- interrupt chips");
		return 1;
	}
	logged = vr_kmsg_find(o, vr_ir_log, sizeof(vr_ir_log) / sizeof(vr_ir_log[0]));
	if (logged < 0) {
		snprintf(why, len, "no IR- interrupt chips in /proc/interrupts (off, or no device uses MSI yet)");
		return -1;
	}
	snprintf(why, len, "kernel log: \"%s\"", vr_ir_log[logged]);
	return logged != VR_IR_LOG_OFF;
}

/*
 * Interrupt remapping: the module's per-device answer when devices have
 * IOMMU groups; otherwise (no module, or the IOMMU off) vr_host_ir().
 */
static void vr_check_ir(struct vr_report *r, const struct vr_status *st)
{
	const char *fix = vr_ir_fix(r->o);
	char why[128];
	int ir;

	if (st && st->iommu) {
		if (st->intr_remap)
			vr_line(r, VR_PASS, "interrupt_remapping", NULL, "interrupt remapping on");
		else
			vr_line(r, VR_FAIL, "interrupt_remapping", fix,
				"interrupt remapping off: vfio refuses devices without it");
	} else {
		ir = vr_host_ir(r->o, why, sizeof(why));
		if (ir > 0)
			vr_line(r, VR_PASS, "interrupt_remapping", NULL,
				"interrupt remapping on (%s)", why);
		else if (!ir)
			vr_line(r, VR_FAIL, "interrupt_remapping", fix,
				"interrupt remapping off (%s): vfio refuses devices without it",
				why);
		else
			vr_line(r, VR_WARN, "interrupt_remapping", fix,
				"interrupt remapping: %s", why);
	}
	if (vr_allow_unsafe_interrupts(r->o, "vfio_iommu_type1"))
		vr_line(r, VR_WARN, "unsafe_interrupts",
			"remove vfio_iommu_type1.allow_unsafe_interrupts=1 once interrupt remapping works",
			"vfio_iommu_type1.allow_unsafe_interrupts=1: guests can forge MSIs to the host; this is UNSAFE");
}

/*
 * The kernel's configuration: /boot/config-RELEASE, or /proc/config.gz
 * through gzip (then *@pid is its process, else 0).
 */
static FILE *vr_open_config(const struct vr_opts *o, char *name, size_t size,
			    pid_t *pid)
{
	char *argv[] = { "gzip", "-dc", name, NULL };
	struct utsname u;
	FILE *f;

	*pid = 0;
	uname(&u);
	snprintf(name, size, "/boot/config-%s", u.release);
	f = fopen(name, "re");
	if (f)
		return f;
	snprintf(name, size, "%s/config.gz", o->proc);
	if (access(name, R_OK))
		return NULL;
	return vr_popen(argv, pid);
}

static void vr_check_kconfig(struct vr_report *r, bool amd)
{
	char name[PATH_MAX], line[256], missing[512] = "";
	bool seen[sizeof(vr_kconfig) / sizeof(vr_kconfig[0])] = { false };
	bool iommufd_container = false;
	size_t i, len = 0;
	pid_t pid;
	FILE *f;

	f = vr_open_config(r->o, name, sizeof(name), &pid);
	if (!f) {
		vr_line(r, VR_WARN, "kernel_config",
			"install the kernel's config file in /boot, or enable CONFIG_IKCONFIG_PROC",
			"kernel configuration not found (/boot/config-*, /proc/config.gz)");
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		/* iommufd's /dev/vfio/vfio stands in for type1 where built */
		if (!strncmp(line, "CONFIG_IOMMUFD_VFIO_CONTAINER=y", 31))
			iommufd_container = true;
		for (i = 0; i < sizeof(vr_kconfig) / sizeof(vr_kconfig[0]); i++) {
			const char *opt = vr_kconfig[i];
			size_t n;

			if (amd && !strcmp(opt, "CONFIG_INTEL_IOMMU"))
				opt = "CONFIG_AMD_IOMMU";
			n = strlen(opt);
			if (!strncmp(line, opt, n) && line[n] == '=' &&
			    (line[n + 1] == 'y' || line[n + 1] == 'm'))
				seen[i] = true;
		}
	}
	if (pid)
		vr_pclose(f, pid);
	else
		fclose(f);
	for (i = 0; i < sizeof(vr_kconfig) / sizeof(vr_kconfig[0]); i++) {
		const char *opt = amd && !strcmp(vr_kconfig[i], "CONFIG_INTEL_IOMMU") ?
				  "CONFIG_AMD_IOMMU" : vr_kconfig[i];

		if (iommufd_container && !strcmp(opt, "CONFIG_VFIO_IOMMU_TYPE1"))
			continue;
		if (!seen[i])
			len += (size_t)snprintf(missing + len,
						len < sizeof(missing) ? sizeof(missing) - len : 0,
						"%s%s", len ? " " : "", opt);
	}
	if (!missing[0])
		vr_line(r, VR_PASS, "kernel_config", NULL,
			"kernel options for assignment are set (%s)", name);
	else
		vr_line(r, VR_FAIL, "kernel_config",
			"boot a kernel built with them (Debian's linux-image-amd64 has them all)",
			"kernel built without %s (%s)", missing, name);
}

/*
 * vfio, vfio_pci and an IOMMU backend: vfio_iommu_type1 (the container,
 * /dev/vfio/N), or iommufd (/dev/iommu with the device cdevs, or its
 * emulation of the container), which kernels from 6.2 on may use instead.
 */
static void vr_check_vfio(struct vr_report *r)
{
	static const char *const mods[] = { "vfio", "vfio_pci" };
	char rel[64], missing[128] = "", backend[64] = "";
	size_t i, len = 0;

	for (i = 0; i < sizeof(mods) / sizeof(mods[0]); i++) {
		snprintf(rel, sizeof(rel), "module/%s", mods[i]);
		if (!vr_exists(r->o, rel))
			len += (size_t)snprintf(missing + len, sizeof(missing) - len,
						"%s%s", len ? " " : "", mods[i]);
	}
	if (vr_exists(r->o, "module/vfio_iommu_type1"))
		snprintf(backend, sizeof(backend), "vfio_iommu_type1");
	if (vr_exists(r->o, "module/iommufd"))
		snprintf(backend + strlen(backend), sizeof(backend) - strlen(backend),
			 "%siommufd", backend[0] ? " and " : "");
	if (!backend[0])
		len += (size_t)snprintf(missing + len, sizeof(missing) - len,
					"%svfio_iommu_type1 (or iommufd)", len ? " " : "");
	if (!missing[0])
		vr_line(r, VR_PASS, "vfio", NULL, "vfio, vfio_pci and %s are loaded",
			backend);
	else
		vr_line(r, VR_WARN, "vfio", "modprobe vfio-pci (vfio_reserve loads it when it reserves a device)",
			"not loaded: %s", missing);
}

static void vr_check_module(struct vr_report *r, struct vr_status *st,
			    bool *loaded)
{
	struct vr_rule_info *rules = NULL;
	struct vr_nl nl;
	size_t n = 0, i;
	char list[512] = "";
	size_t len = 0;
	int ret;

	*loaded = false;
	ret = vr_nl_open(&nl);
	if (ret) {
		vr_line(r, VR_WARN, "module", "modprobe vfio_reserve",
			"vfio_reserve is not loaded: devices are not reserved at probe time");
		return;
	}
	ret = vr_nl_status(&nl, st);
	if (!ret)
		ret = vr_nl_rules(&nl, &rules, &n);
	vr_nl_close(&nl);
	if (ret) {
		vr_line(r, VR_FAIL, "module", "see dmesg",
			"vfio_reserve is loaded but does not answer (%s)", strerror(-ret));
		return;
	}
	*loaded = true;
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(list + len, len < sizeof(list) ? sizeof(list) - len : 0,
					"%s%s", i ? "," : "", rules[i].selector);
	free(rules);
	vr_line(r, VR_PASS, "module", NULL,
		"vfio_reserve %s loaded: %u rules (%s), %u reserved, %u pending, reclaim=%s%s",
		st->version, st->rules, n ? list : "none", st->reserved, st->pending,
		st->reclaim, st->dry_run ? ", DRY RUN" : "");
	if (st->config_error[0])
		vr_line(r, VR_FAIL, "module_parameters",
			"fix the devices=/reclaim= options (/etc/modprobe.d/vfio-reserve.conf or the kernel command line) and reload the module",
			"parameters rejected at load, nothing reserved: %s",
			st->config_error);
	if (st->target_failed)
		vr_line(r, VR_FAIL, "targets",
			"see `vfio-reserve list` and dmesg: install the target driver's module, or change the rule's @DRIVER",
			"%u reserved device%s left unbound: the target driver cannot be loaded or is not a VFIO driver",
			st->target_failed, st->target_failed == 1 ? " is" : "s are");
}

int vr_cmd_status(const struct vr_opts *o, int argc, char **argv)
{
	struct vr_report r = { .o = o };
	struct vr_status st;
	bool amd, loaded;

	(void)argv;
	if (argc > 1)
		return vr_usage_error("status", "no arguments expected");
	if (o->json) {
		vr_json_begin(&r.j, o, "status", "checks");
	}
	amd = vr_amd_cpu(o);
	vr_check_iommu(&r, amd);
	vr_check_module(&r, &st, &loaded);
	vr_check_ir(&r, loaded ? &st : NULL);
	vr_check_kconfig(&r, amd);
	vr_check_vfio(&r);
	if (o->json) {
		vr_json_end(&r.j);
	} else {
		printf("%u failed, %u warnings\n", r.fails, r.warns);
	}
	return r.fails ? VR_EXIT_FAIL : VR_EXIT_OK;
}
