using Datapath.Engine.Packets;
using Datapath.Hugepages;

namespace Datapath.App.Running;

/// <summary>What came up: lcores and their CPUs, memory, ports, forwarding.</summary>
public static class Banner
{
    public static void Print(TextWriter w, EngineHost host)
    {
        foreach (var e in host.Lcores.Map.Entries)
            w.WriteLine($"EAL: {e}{(e.Lcore == host.Lcores.MainLcore ? " (main)" : "")}");
        var m = host.Memory;
        string pages = m.NoHuge ? "4 KiB pages (--no-huge)" : $"{HugepageInventory.FormatSize(m.HugepageSize)} hugepages, {HugepageInventory.FreePages(m.HugepageSize)} left free";
        w.WriteLine($"EAL: memory: {pages}; IOVA mode: {m.IovaMode.ToString().ToUpperInvariant()}");
        PacketPool pool = host.Pool;
        w.WriteLine($"EAL: {pool}");
        foreach (var p in host.Ports.All)
        {
            var info = p.Info;
            w.WriteLine($"Port {p.Id}: {info.DriverName} {info.DeviceName}, MAC {info.Mac}, {p.Config!.RxQueues} rxq/{p.Config.TxQueues} txq, link {p.Link}");
        }
        var f = host.Forwarding;
        w.WriteLine($"{f.Mode.Name} packet forwarding - ports={host.Ports.Count} - cores={f.Lcores.Count} - streams={f.Streams.Count}");
        foreach (var l in f.Lcores)
            foreach (var s in l.Streams)
                w.WriteLine($"Logical Core {l.Id} (socket 0) forwards packets on {l.Streams.Length} streams: {s}");
    }
}
