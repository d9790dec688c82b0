using Datapath.Engine.Packets;
using Datapath.Hugepages;

namespace Datapath.App.Running;

/// <summary>
/// What came up, said once at start: which lcore runs on which CPU, the memory (page size, how much
/// this process holds, how much is left, the IOVA mode), each port (driver, MAC, queues and
/// descriptors, link), and the forwarding configuration.
/// </summary>
public static class Banner
{
    public static void Print(TextWriter w, EngineHost host)
    {
        foreach (var e in host.Lcores.Map.Entries)
            w.WriteLine($"EAL: {e}{(e.Lcore == host.Lcores.MainLcore ? " (main: control plane and console)" : " (worker)")}");
        var m = host.Memory;
        string used = HugepageInventory.FormatSize(HugepageRegion.TotalBytes);
        string pages = m.NoHuge
            ? $"4 KiB pages (--no-huge), {used} locked"
            : $"{HugepageInventory.FormatSize(m.HugepageSize)} hugepages, {used} in use by this process, {HugepageInventory.FreePages(m.HugepageSize)} pages left free";
        w.WriteLine($"EAL: memory: {pages}; IOVA mode: {m.IovaMode.ToString().ToUpperInvariant()}");
        PacketPool pool = host.Pool;
        w.WriteLine($"EAL: {pool}");
        foreach (var p in host.Ports.All)
        {
            var info = p.Info;
            var c = p.Config!;
            w.WriteLine($"Port {p.Id}: {info.DriverName} {info.DeviceName}, MAC {info.Mac}, {c.RxQueues} rxq/{c.TxQueues} txq " +
                $"of {c.RxDescriptors}/{c.TxDescriptors} descriptors, link {p.Link}");
        }
        ConfigDisplay.Fwd(w, host);
    }
}
