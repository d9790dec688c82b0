using Datapath.Engine.Ports;

namespace Datapath.Drivers;

/// <summary>Every PMD in this assembly, registered with the engine in one place.</summary>
public static class DriverCatalog
{
    public static DriverRegistry CreateRegistry()
    {
        var registry = new DriverRegistry();
        registry.Register(Null.NullPort.Driver);
        registry.Register(Ring.RingPort.Driver);
        registry.Register(VhostUser.Backend.VhostNetPort.Driver);
        registry.Register(VirtioUser.VirtioUserPort.Driver);
        registry.Register(VirtioPci.VirtioPciPort.Driver);
        return registry;
    }
}
