"""Example post-export hooks shipped with ecomlake (use them as `module:function`)."""
