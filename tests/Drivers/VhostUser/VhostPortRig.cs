using Datapath.Drivers;
using Datapath.Drivers.VhostUser.Backend;
using Datapath.Engine.Packets;
using Datapath.Engine.Ports;
using Datapath.Hugepages;

namespace Datapath.Tests.Drivers.VhostUser;

/// <summary>A net_vhost port in this process, started, with a pool: what the tests talk to a peer through.</summary>
public sealed unsafe class VhostPortRig : IDisposable
{
    public PacketPool Pool { get; }
    public PortTable Ports { get; } = new();
    public VhostNetPort Port { get; }
    public string Socket { get; }

    public VhostPortRig(string args = "", int queues = 1)
    {
        Socket = $"/tmp/dptest-vhost-{Environment.ProcessId}-{Guid.NewGuid():N}"[..40] + ".sock";
        Pool = PacketPool.Create($"vhostrig{Guid.NewGuid():N}"[..16], 8192, MemoryOptions.Default, cacheSize: 0);
        string spec = $"net_vhost0,iface={Socket},queues={queues}{(args.Length > 0 ? "," + args : "")}";
        Port = (VhostNetPort)DriverCatalog.CreateRegistry().Create(spec, new DriverContext(MemoryOptions.Default, Ports));
        Ports.Add(Port);
        Port.Configure(new PortConfig { Pool = Pool, RxQueues = queues, TxQueues = queues });
        Port.Start();
    }

    public bool WaitLinkUp(TimeSpan timeout) => WaitFor(() => Port.Link.Up, timeout);

    public static bool WaitFor(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (condition()) return true;
            Thread.Sleep(20);
        }
        return condition();
    }

    /// <summary>A frame with a recognisable payload: seq in bytes 14..17, then a pattern from the seq.</summary>
    public Packet Frame(int seq, int length)
    {
        var p = Pool.Alloc();
        if (p.IsNull) throw new InvalidOperationException("pool empty");
        p.SetLength(length);
        var s = p.Span;
        Span<byte> dst = [0x02, 0, 0, 0, 0, 0xAA], src = [0x02, 0, 0, 0, 0, 0xBB];
        dst.CopyTo(s);
        src.CopyTo(s[6..]);
        s[12] = 0x88; s[13] = 0xB5; // local experimental ethertype: no stack will answer it
        BitConverter.TryWriteBytes(s[14..], seq);
        for (int i = 18; i < length; i++) s[i] = (byte)(seq * 31 + i);
        return p;
    }

    /// <summary>True when <paramref name="p"/> is frame <paramref name="seq"/> with its MACs swapped (macswap).</summary>
    public static bool IsSwappedEcho(Packet p, out int seq)
    {
        var s = p.Span;
        seq = BitConverter.ToInt32(s[14..]);
        if (s[5] != 0xBB || s[11] != 0xAA || s[12] != 0x88 || s[13] != 0xB5) return false;
        for (int i = 18; i < s.Length; i++) if (s[i] != (byte)(seq * 31 + i)) return false;
        return true;
    }

    public void Dispose()
    {
        Ports.Dispose();
        Pool.Dispose();
        File.Delete(Socket);
    }
}
