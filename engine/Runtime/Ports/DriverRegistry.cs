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

    public IReadOnlyList<VdevDriver> Drivers => _drivers;

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
