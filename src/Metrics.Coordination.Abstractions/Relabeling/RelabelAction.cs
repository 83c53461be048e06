namespace Metrics.Coordination.Abstractions.Relabeling;

/// <summary>The relabel actions of Prometheus's <c>relabel_config</c>, spelled in YAML in lower case.</summary>
public enum RelabelAction
{
    /// <summary><c>replace</c> (the default): when <c>regex</c> matches the joined source values, set <c>target_label</c> to the expanded <c>replacement</c> (an empty result deletes the label).</summary>
    Replace,

    /// <summary><c>keep</c>: drop the series unless <c>regex</c> matches the joined source values.</summary>
    Keep,

    /// <summary><c>drop</c>: drop the series when <c>regex</c> matches the joined source values.</summary>
    Drop,

    /// <summary><c>keepequal</c>: drop the series unless the joined source values equal the value of <c>target_label</c>.</summary>
    KeepEqual,

    /// <summary><c>dropequal</c>: drop the series when the joined source values equal the value of <c>target_label</c>.</summary>
    DropEqual,

    /// <summary><c>hashmod</c>: set <c>target_label</c> to the MD5 of the joined source values (its last 8 bytes, big-endian) modulo <c>modulus</c>.</summary>
    HashMod,

    /// <summary><c>labelmap</c>: for every label whose name matches <c>regex</c>, copy its value to the label named by the expanded <c>replacement</c>.</summary>
    LabelMap,

    /// <summary><c>labeldrop</c>: remove every label whose name matches <c>regex</c>.</summary>
    LabelDrop,

    /// <summary><c>labelkeep</c>: remove every label whose name does not match <c>regex</c>.</summary>
    LabelKeep,

    /// <summary><c>lowercase</c>: set <c>target_label</c> to the joined source values in lower case.</summary>
    Lowercase,

    /// <summary><c>uppercase</c>: set <c>target_label</c> to the joined source values in upper case.</summary>
    Uppercase,
}
