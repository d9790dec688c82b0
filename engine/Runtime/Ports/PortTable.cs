namespace Datapath.Engine.Ports;

/// <summary>The engine's ports, numbered in the order they were created (DPDK port ids).</summary>
public sealed class PortTable : IDisposable
{
    readonly List<Port> _ports = new();

    public int Count => _ports.Count;
    public Port this[int id] => (uint)id < (uint)_ports.Count ? _ports[id] : throw new ArgumentOutOfRangeException(nameof(id), $"no port {id} (ports: 0..{_ports.Count - 1})");
    public IReadOnlyList<Port> All => _ports;

    public ushort Add(Port port)
    {
        port.Id = (ushort)_ports.Count;
        _ports.Add(port);
        return port.Id;
    }

    public Port? Find(string name) => _ports.FirstOrDefault(p => p.Name == name);

    public void Dispose()
    {
        foreach (var p in _ports) p.Dispose();
        _ports.Clear();
    }
}
