using Datapath.Engine.Forwarding;

namespace Datapath.App.Interactive;

/// <summary>What a value in a command accepts (`&lt;port&gt;` is a port id or `all`), and what tab offers for it.</summary>
public sealed record ValueKind(string Name, Func<string, bool> Accepts, Func<IEnumerable<string>> Candidates)
{
    static readonly Dictionary<string, ValueKind> Kinds = new[]
    {
        new ValueKind("port", s => s == "all" || ushort.TryParse(s, out _), () => ["all"]),
        new ValueKind("n", s => int.TryParse(s, out _), () => []),
        new ValueKind("mode", s => ForwardModes.Names.Contains(s), () => ForwardModes.Names),
        new ValueKind("lengths", s => s.Split(',').All(p => int.TryParse(p, out _)), () => []),
    }.ToDictionary(k => k.Name);

    public static ValueKind Named(string name) =>
        Kinds.TryGetValue(name, out var k) ? k : throw new ArgumentException($"command syntax: no value kind <{name}>");
}
