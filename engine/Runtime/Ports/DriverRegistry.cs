using Datapath.Hugepages;

namespace Datapath.Engine.Ports;

/// <summary>What a driver needs from the engine to create a port.</summary>
public sealed record DriverContext(MemoryOptions Memory, PortTable Ports);

/// <summary>A virtual-device driver: its name prefix, its device-args keys, and how to make a port.</summary>
public sealed record VdevDriver(string Name, IReadOnlyList<string> Keys, string Usage, Func<DeviceArgs, DriverContext, Port> Create);

/// <summary>
/// Drivers register here by name prefix (DPDK's RTE_PMD_REGISTER_VDEV); the engine knows none
/// by name. `net_ring0` and `net_ring_a` both pick `net_ring`; the longest prefix wins.
/// </summary>
public sealed class DriverRegistry
{
    readonly List<VdevDriver> _drivers = new();
    readonly List<PciDriver> _pciDrivers = new();

    public IReadOnlyList<VdevDriver> Drivers => _drivers;
    public IReadOnlyList<PciDriver> PciDrivers => _pciDrivers;

    /// <summary>Where PCI devices' ids are read: sysfs by default, a fake tree in tests.</summary>
    public string SysfsRoot { get; init; } = "/sys";

    public void Register(PciDriver driver)
    {
        foreach (var id in driver.Ids)
            if (FindPci(id) is { } other) throw new InvalidOperationException($"PCI id {id} registered by {other.Name} and {driver.Name}");
        _pciDrivers.Add(driver);
    }

    public PciDriver? FindPci(PciId id) => _pciDrivers.FirstOrDefault(d => d.Ids.Contains(id));

    /// <summary>
    /// -a BDF: reads the device's vendor and device ids from sysfs and creates the port of the driver
    /// that claims them (not yet configured). The engine knows no driver by name, only the id table.
    /// </summary>
    public Port CreatePci(string address, DriverContext context)
    {
        string bdf = address.Count(c => c == ':') == 1 ? $"0000:{address}" : address;
        string dir = Path.Combine(SysfsRoot, "bus/pci/devices", bdf.ToLowerInvariant());
        if (!Directory.Exists(dir)) throw new DeviceArgsException($"-a {address}: no such PCI device (lspci -D lists them)");
        var id = new PciId(ReadHex(Path.Combine(dir, "vendor")), ReadHex(Path.Combine(dir, "device")));
        var driver = FindPci(id)
            ?? throw new DeviceArgsException($"-a {address}: no driver for PCI device {id} (known: {string.Join(", ", _pciDrivers.SelectMany(d => d.Ids.Select(i => $"{i} {d.Name}")))})");
        if (context.Ports.Find(bdf) is not null) throw new DeviceArgsException($"-a {address}: given twice");
        return driver.Create(bdf.ToLowerInvariant(), context);
    }

    static ushort ReadHex(string path)
    {
        string text = File.ReadAllText(path).Trim();
        if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)) text = text[2..];
        return ushort.TryParse(text, System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture, out ushort v) ? v
            : throw new DeviceArgsException($"{path}: '{text}' is not a PCI id");
    }

    public void Register(VdevDriver driver)
    {
        if (_drivers.Any(d => d.Name == driver.Name)) throw new InvalidOperationException($"driver {driver.Name} registered twice");
        _drivers.Add(driver);
    }

    public VdevDriver? Find(string deviceName) =>
        _drivers.Where(d => deviceName.StartsWith(d.Name, StringComparison.Ordinal))
                .OrderByDescending(d => d.Name.Length)
                .FirstOrDefault();

    /// <summary>Parses a --vdev string, checks its keys, and creates the port (not yet configured).</summary>
    public Port Create(string spec, DriverContext context)
    {
        var args = DeviceArgs.Parse(spec);
        var driver = Find(args.Name)
            ?? throw new DeviceArgsException($"unknown driver {args.Name} (known: {string.Join(", ", _drivers.Select(d => d.Name))})");
        if (context.Ports.Find(args.Name) is not null) throw new DeviceArgsException($"{args.Name}: a device of that name exists already");
        args.CheckKeys(driver.Keys);
        return driver.Create(args, context);
    }
}
