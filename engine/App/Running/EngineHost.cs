using Datapath.App.Options;
using Datapath.Drivers;
using Datapath.Engine.Forwarding;
using Datapath.Engine.Lcores;
using Datapath.Engine.Packets;
using Datapath.Engine.Ports;
using Datapath.Hugepages;

namespace Datapath.App.Running;

/// <summary>
/// The engine as the command line describes it: lcores, one packet pool, the ports (configured and
/// started), and the forwarding engine. Disposing it stops and frees everything in reverse order.
/// </summary>
public sealed class EngineHost : IDisposable
{
    public LcoreSet Lcores { get; }
    public PacketPool Pool { get; }
    public PortTable Ports { get; } = new();
    public ForwardingEngine Forwarding { get; }
    public MemoryOptions Memory { get; }
    public CommandLine CommandLine { get; }

    public EngineHost(CommandLine cmd, TextWriter log)
    {
        CommandLine = cmd;
        var eal = cmd.Eal;
        var app = cmd.App;
        Memory = eal.Memory;

        var map = eal.LcoresMap is not null ? LcoreMap.FromLcoresOption(eal.LcoresMap)
            : LcoreMap.FromCoreList(eal.CoreList ?? DefaultCoreList());
        if (Memory.NoHuge) log.WriteLine("EAL: --no-huge: 4 KiB pages, locked; not physically contiguous, no vfio-noiommu");

        var registry = DriverCatalog.CreateRegistry();
        var context = new DriverContext(Memory, Ports);
        // DPDK numbers PCI ports before virtual devices.
        foreach (string pci in eal.AllowedPci) Ports.Add(registry.CreatePci(pci, context));
        foreach (string vdev in eal.Vdevs) Ports.Add(registry.Create(vdev, context));

        int mbufs = app.TotalMbufs > 0 ? app.TotalMbufs : DefaultMbufs(Math.Max(1, Ports.Count), app);
        Pool = PacketPool.Create("mbuf_pool", mbufs, Memory);
        try
        {
            Lcores = new LcoreSet(map);
            foreach (var port in Ports.All)
            {
                port.Configure(new PortConfig
                {
                    RxQueues = app.RxQueues,
                    TxQueues = app.TxQueues,
                    RxDescriptors = app.RxDescriptors,
                    TxDescriptors = app.TxDescriptors,
                    Pool = Pool,
                });
                port.Start();
            }
            Forwarding = new ForwardingEngine(Ports, Lcores, new ForwardingConfig
            {
                Mode = app.ForwardMode,
                Cores = app.NbCores,
                Topology = app.Topology,
                BurstSize = app.Burst,
                TxPacketSegments = app.TxPackets,
                RecordBurstStats = app.RecordBurstStats,
            });
            Forwarding.BuildStreams();
        }
        catch
        {
            Ports.Dispose();
            Lcores?.Dispose();
            Pool.Dispose();
            throw;
        }
    }

    /// <summary>testpmd's sizing: every descriptor of every queue, plus each lcore's cache and a burst.</summary>
    static int DefaultMbufs(int ports, AppOptions app) =>
        Math.Max(8192, ports * (app.RxQueues * app.RxDescriptors + app.TxQueues * app.TxDescriptors) + 4 * PacketPool.DefaultCacheSize * 3 / 2 + 4096);

    /// <summary>Main lcore plus one worker when the machine has two CPUs or more.</summary>
    static string DefaultCoreList()
    {
        var cpus = LcoreMap.AvailableCpus();
        return cpus.Length >= 2 ? $"{cpus[0]},{cpus[1]}" : $"{cpus[0]}";
    }

    public void Dispose()
    {
        Forwarding.Stop();
        Ports.Dispose();
        Lcores.Dispose();
        Pool.Dispose();
    }
}
