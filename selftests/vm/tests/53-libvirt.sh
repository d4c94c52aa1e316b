#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# libvirt XML: the address in hex, managed='no', valid for libvirt's schema
# when virt-xml-validate is installed.
# vr-roles: mf-pair
# vr-vm-only: not yet made safe for a real host (issue 19: restore what it changes, log markers for dmesg -C)
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

ktap_plan 3
xml=$($VR libvirt "$MF1" 0000:02:00.2)
ktap_check "hostdev elements with domain/bus/slot/function in hex" \
	eval 'grep -q "<hostdev mode=.subsystem. type=.pci. managed=.no.>" <<<"$xml" &&
		grep -q "<address domain=.0x0000. bus=.0x03. slot=.0x00. function=.0x1./>" <<<"$xml" &&
		grep -q "<address domain=.0x0000. bus=.0x02. slot=.0x00. function=.0x2./>" <<<"$xml"'
ktap_diag <<<"$xml"
ktap_check "a bad address is a usage error" \
	eval '$VR libvirt 0000:03:00.9 >/dev/null 2>&1; (( $? == 2 ))'
if command -v virt-xml-validate >/dev/null; then
	cat >/tmp/dom.xml <<-XML
	<domain type='kvm'><name>vr</name><memory>65536</memory>
	<os><type arch='x86_64'>hvm</type></os><devices>
	$xml
	</devices></domain>
	XML
	ktap_check "virt-xml-validate accepts it in a domain" \
		virt-xml-validate /tmp/dom.xml domain
else
	ktap_skip "virt-xml-validate accepts it in a domain" "libvirt-clients not installed"
fi
ktap_finish
