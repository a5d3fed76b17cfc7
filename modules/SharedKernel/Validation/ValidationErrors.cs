namespace Monolith.SharedKernel.Validation;

/// <summary>
/// Validation errors by field, in the shape of CONTRACT §2 (<c>errors: { "field": ["message", ...] }</c>).
/// Every endpoint collects its errors here and answers them with <c>Problems.Validation(errors)</c>.
/// </summary>
public sealed class ValidationErrors
{
    private readonly Dictionary<string, List<string>> byField = new(StringComparer.Ordinal);

    public bool Any => byField.Count > 0;

    public bool Has(string field) => byField.ContainsKey(field);

    public void Add(string field, string message)
    {
        if (!byField.TryGetValue(field, out var messages))
        {
            byField[field] = messages = [];
        }

        messages.Add(message);
    }

    /// <summary>For rules that answer null when the value is valid and a message when it is not.</summary>
    public void AddIfAny(string field, string? message)
    {
        if (message is not null)
        {
            Add(field, message);
        }
    }

    public void AddAll(IEnumerable<KeyValuePair<string, string[]>> other)
    {
        foreach (var (field, messages) in other)
        {
            foreach (var message in messages)
            {
                Add(field, message);
            }
        }
    }

    public Dictionary<string, string[]> ToDictionary() =>
        byField.ToDictionary(p => p.Key, p => p.Value.ToArray(), StringComparer.Ordinal);
}
