namespace Datapath.Engine.Ports;

/// <summary>A PCI vendor/device id pair, as sysfs and lspci -n show it.</summary>
public readonly record struct PciId(ushort Vendor, ushort Device)
{
    public override string ToString() => $"{Vendor:x4}:{Device:x4}";
}

/// <summary>
/// A PCI driver (DPDK's RTE_PMD_REGISTER_PCI with its id table): the ids it drives and how to make a
/// port for a device at a PCI address (as -a gave it, normalised to domain:bus:device.function).
/// </summary>
public sealed record PciDriver(string Name, IReadOnlyList<PciId> Ids, Func<string, DriverContext, Port> Create);
