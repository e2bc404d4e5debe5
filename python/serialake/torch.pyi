from typing import Any, Callable, Dict, List, Optional, Sequence

import torch.utils.data

class Dataset(torch.utils.data.Dataset):
    path: str
    version: int
    tensors: List[str]
    transform: Optional[Callable[[Dict[str, Any]], Any]]
    def __init__(self, path: str, tensors: Optional[Sequence[str]] = ...,
                 transform: Optional[Callable[[Dict[str, Any]], Any]] = ...,
                 version: Optional[int] = ...) -> None: ...
    def __len__(self) -> int: ...
    def __getitem__(self, index: int) -> Any: ...
