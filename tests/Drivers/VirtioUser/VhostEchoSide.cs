using Datapath.Drivers;
using Datapath.Drivers.VhostUser.Backend;
using Datapath.Engine.Forwarding;
using Datapath.Engine.Lcores;
using Datapath.Engine.Packets;
using Datapath.Engine.Ports;
using Datapath.Hugepages;

namespace Datapath.Tests.Drivers.VirtioUser;

/// <summary>
/// Our net_vhost as the peer of our net_virtio_user, in this process: a vhost port (server, it owns
/// the socket) in its own <see cref="PortTable"/>, echoing every frame with a macswap
/// <see cref="ForwardingEngine"/> on worker lcore 1 of <paramref name="lcores"/>. Dispose closes the
/// port, which is how the front-end sees a backend go away.
/// </summary>
public sealed class VhostEchoSide : IDisposable
{
    public PortTable Ports { get; } = new();
    public PacketPool Pool { get; }
    public VhostNetPort Port { get; }
    public ForwardingEngine Forwarding { get; }

    public VhostEchoSide(string socket, int queues, LcoreSet lcores)
    {
        var memory = new MemoryOptions { FilePrefix = $"dptest-o2o-{Environment.ProcessId}" };
        Pool = PacketPool.Create($"o2ov{Guid.NewGuid():N}"[..12], 8192, memory);
        Port = (VhostNetPort)DriverCatalog.CreateRegistry().Create($"net_vhost0,iface={socket},queues={queues}", new DriverContext(memory, Ports));
        Ports.Add(Port);
        Port.Configure(new PortConfig { Pool = Pool, RxQueues = queues, TxQueues = queues });
        Port.Start();
        // One port paired with itself: rx queue q is echoed on tx queue q.
        Forwarding = new ForwardingEngine(Ports, lcores, new ForwardingConfig { Mode = "macswap", Topology = PortTopology.Paired, Cores = 1 });
        Forwarding.Start();
    }

    public void Dispose()
    {
        Forwarding.Stop();      // the lcore stops touching the port before it closes
        Ports.Dispose();
        Assert.Equal(0, Pool.InUse);
        Pool.Dispose();
    }
}
