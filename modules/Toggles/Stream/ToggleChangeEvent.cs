using Monolith.Toggles.Contracts;
using Monolith.Toggles.Evaluation;

namespace Monolith.Toggles.Stream;

/// <summary>
/// The data of one <c>event: toggle</c>: how the changed toggle now evaluates, tenant-wide (<see cref="ProjectId"/> null)
/// or for one project whose override was set, changed or removed.
/// </summary>
internal sealed record ToggleChangeEvent(string Key, Guid? ProjectId, bool Enabled, ToggleReason Reason);

/// <summary>What evaluation needs of a defined toggle.</summary>
internal sealed record ToggleDefinitionState(bool Enabled, int? RolloutPercent);

/// <summary>One key's state as a feed last read it: its definition (null: not defined) and its projects' overrides.</summary>
internal sealed class ToggleKeyState(ToggleDefinitionState? definition, Dictionary<Guid, bool> overrides)
{
    public ToggleDefinitionState? Definition { get; } = definition;

    public Dictionary<Guid, bool> Overrides { get; } = overrides;
}

/// <summary>The events that turn one key's state <c>before</c> into <c>after</c> (either null: not defined).</summary>
internal static class ToggleChanges
{
    public static void Diff(string key, ToggleKeyState? before, ToggleKeyState? after, bool undefinedDefault, List<ToggleChangeEvent> into)
    {
        var definition = after?.Definition;
        if (before?.Definition != definition)
        {
            into.Add(definition is null
                ? new ToggleChangeEvent(key, null, undefinedDefault, ToggleReason.Undefined)
                : new ToggleChangeEvent(key, null, definition.Enabled, ToggleReason.Default));
        }

        var empty = EmptyOverrides;
        var old = before?.Overrides ?? empty;
        var now = after?.Overrides ?? empty;
        foreach (var (project, enabled) in now)
        {
            if (!old.TryGetValue(project, out var was) || was != enabled)
            {
                into.Add(new ToggleChangeEvent(key, project, enabled, ToggleReason.Override));
            }
        }

        foreach (var project in old.Keys)
        {
            if (!now.ContainsKey(project))
            {
                // The override is gone: the project now evaluates as the definition (its rollout) or the undefined default say.
                into.Add(definition is null
                    ? new ToggleChangeEvent(key, project, undefinedDefault, ToggleReason.Undefined)
                    : new ToggleChangeEvent(key, project,
                        definition.RolloutPercent is { } percent ? Rollout.IsIn(key, project, percent) : definition.Enabled, ToggleReason.Default));
            }
        }
    }

    private static readonly Dictionary<Guid, bool> EmptyOverrides = [];
}
