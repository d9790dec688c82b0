using System.Globalization;

namespace Datapath.Drivers.Vfio;

/// <summary>
/// What sysfs says about PCI devices and IOMMU groups (Documentation/ABI/testing/sysfs-bus-pci,
/// sysfs-kernel-iommu_groups). The root is a parameter so tests can build a fake tree.
/// </summary>
public sealed class PciSysfs(string root = "/sys")
{
    public const string VfioDriver = "vfio-pci";

    public string Root { get; } = root;

    string DevicePath(PciAddress a) => Path.Combine(Root, "bus/pci/devices", a.ToString());

    public bool Exists(PciAddress a) => Directory.Exists(DevicePath(a));

    /// <summary>The bound driver's name, or null when the device has none.</summary>
    public string? Driver(PciAddress a) => LinkName(Path.Combine(DevicePath(a), "driver"));

    public ushort Vendor(PciAddress a) => ReadHex(Path.Combine(DevicePath(a), "vendor"));
    public ushort DeviceId(PciAddress a) => ReadHex(Path.Combine(DevicePath(a), "device"));

    /// <summary>The IOMMU group number (the iommu_group link), or null without an IOMMU or noiommu group.</summary>
    public int? IommuGroup(PciAddress a)
    {
        string? name = LinkName(Path.Combine(DevicePath(a), "iommu_group"));
        return name is not null && int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out int g) ? g : null;
    }

    /// <summary>Every device of group <paramref name="group"/> (/sys/kernel/iommu_groups/N/devices).</summary>
    public IReadOnlyList<PciAddress> GroupDevices(int group)
    {
        string dir = Path.Combine(Root, "kernel/iommu_groups", group.ToString(CultureInfo.InvariantCulture), "devices");
        if (!Directory.Exists(dir)) return [];
        var list = new List<PciAddress>();
        foreach (string entry in Directory.EnumerateFileSystemEntries(dir))
            if (PciAddress.TryParse(Path.GetFileName(entry), out var a)) list.Add(a);
        list.Sort((x, y) => string.CompareOrdinal(x.ToString(), y.ToString()));
        return list;
    }

    /// <summary>
    /// VFIO's viability rule: a group is usable only when every device in it is bound to vfio-pci
    /// (or to no driver). One line names each device that is not, with its driver.
    /// </summary>
    public string? ViabilityProblem(int group)
    {
        var bad = new List<string>();
        foreach (var d in GroupDevices(group))
        {
            string? driver = Driver(d);
            if (driver is not null && driver != VfioDriver) bad.Add($"{d} is bound to {driver}");
        }
        return bad.Count == 0 ? null
            : $"IOMMU group {group} is not viable: {string.Join(", ", bad)}; bind every device of the group to vfio-pci (./run.sh bind <BDF> vfio-pci)";
    }

    static string? LinkName(string path)
    {
        // sysfs links (driver, iommu_group) point at the thing; their last component is its name.
        string? target = new FileInfo(path).LinkTarget;
        return target is null ? null : Path.GetFileName(target.TrimEnd('/'));
    }

    static ushort ReadHex(string path)
    {
        string text = File.ReadAllText(path).Trim();
        if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)) text = text[2..];
        return ushort.Parse(text, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
    }
}
